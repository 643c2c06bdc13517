using Microsoft.Extensions.Options;

namespace Countersign.Defences;

public static class DefencesSetup
{
    public static IHostApplicationBuilder AddDefences(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<DefencesOptions>().BindValidated(DefencesOptions.Section);
        builder.Services.AddSingleton<IValidateOptions<DefencesOptions>, DefencesOptionsValidator>();
        builder.Services.AddSingleton<Lockout>();
        builder.Services.AddSingleton<ClientFailures>();
        builder.Services.AddSingleton<RateLimiter>();
        builder.Services.AddSingleton<Captcha>();
        builder.Services.AddScoped<LockoutAdmin>();
        builder.Services.AddScoped<AddressDefences>();
        return builder;
    }
}
