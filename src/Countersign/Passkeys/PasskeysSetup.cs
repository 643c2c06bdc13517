using Microsoft.AspNetCore.Identity;

namespace Countersign.Passkeys;

public static class PasskeysSetup
{
    public static IHostApplicationBuilder AddPasskeys(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<PasskeysOptions>().BindConfiguration(PasskeysOptions.Section);
        var options = builder.Configuration.GetSection(PasskeysOptions.Section).Get<PasskeysOptions>() ?? new();
        builder.Services.Configure<IdentityPasskeyOptions>(o =>
        {
            o.ServerDomain = options.RelyingPartyId;
            if (options.Origins.Count > 0)
            {
                var allowed = options.Origins.Select(x => x.TrimEnd('/')).ToHashSet(StringComparer.OrdinalIgnoreCase);
                o.ValidateOrigin = context => ValueTask.FromResult(!context.CrossOrigin && allowed.Contains(context.Origin.TrimEnd('/')));
            }
        });
        return builder;
    }
}
