namespace Countersign.SignIn;

public static class SignInSetup
{
    public static IHostApplicationBuilder AddSignIn(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddScoped<SignInCore>();
        services.AddScoped<SignInDefences>();
        services.AddScoped<SignInRecorder>();
        services.AddScoped<PasswordChange>();
        // The second factors every channel knows; further checks (face, device key) register theirs the same way.
        services.AddScoped<IFactorCheck, TotpCheck>();
        services.AddScoped<IFactorCheck, RecoveryCodeCheck>();
        return builder;
    }
}
