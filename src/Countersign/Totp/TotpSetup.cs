namespace Countersign.Totp;

public static class TotpSetup
{
    public static IHostApplicationBuilder AddTotp(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<TotpOptions>().BindConfiguration(TotpOptions.Section);
        builder.Services.AddScoped<TotpService>();
        builder.Services.AddScoped<RecoveryCodes>();
        builder.Services.AddScoped<SecondFactorAdmin>();
        builder.Services.AddScoped<Secrets.IProtectedSecrets, TotpSecrets>();
        return builder;
    }
}
