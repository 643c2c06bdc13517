using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Countersign.Client;

public static class CountersignAuthenticationExtensions
{
    /// <summary>
    /// Adds the <see cref="CountersignDefaults.AuthenticationScheme"/> scheme, its options checked when the host starts,
    /// and the named <see cref="HttpClient"/> it calls Countersign with (<see cref="CountersignDefaults.HttpClientName"/>:
    /// configure it further with <c>services.AddHttpClient(CountersignDefaults.HttpClientName)</c>, e.g. for a CA).
    /// </summary>
    public static AuthenticationBuilder AddCountersign(this AuthenticationBuilder builder, Action<CountersignAuthenticationOptions> configure) =>
        builder.AddCountersign(CountersignDefaults.AuthenticationScheme, configure);

    public static AuthenticationBuilder AddCountersign(this AuthenticationBuilder builder, string scheme, Action<CountersignAuthenticationOptions> configure)
    {
        builder.Services.AddOptions<CountersignAuthenticationOptions>(scheme).ValidateOnStart();
        builder.Services.TryAddSingleton<VerifyCache>();
        builder.Services.AddHttpClient(CountersignDefaults.HttpClientName)
            // No cookie jar: one pooled handler serves every visitor, and a jar would carry one visitor's cookie
            // (Countersign's Set-Cookie when it renews it) into the next visitor's verify. No redirects: /verify never
            // sends one, and a followed redirect would carry the service token elsewhere.
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler
            {
                UseCookies = false,
                AllowAutoRedirect = false,
                PooledConnectionLifetime = TimeSpan.FromMinutes(2),
            });
        return builder.AddScheme<CountersignAuthenticationOptions, CountersignAuthenticationHandler>(scheme, configure);
    }
}
