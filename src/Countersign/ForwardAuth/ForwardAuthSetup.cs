using Microsoft.Extensions.Options;

namespace Countersign.ForwardAuth;

public static class ForwardAuthSetup
{
    public static IHostApplicationBuilder AddForwardAuth(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<ForwardAuthOptions>().BindValidated(ForwardAuthOptions.Section);
        builder.Services.AddSingleton<IValidateOptions<ForwardAuthOptions>, ForwardAuthOptionsValidator>();
        builder.Services.AddSingleton<ForwardAuthKeys>();
        builder.Services.AddSingleton<ForwardAuthCache>();
        builder.Services.AddHostedService(services => services.GetRequiredService<ForwardAuthCache>());
        builder.Services.AddSingleton<DeviceActivity>();
        builder.Services.AddHostedService(services => services.GetRequiredService<DeviceActivity>());
        builder.Services.AddSingleton<Verifier>();
        builder.Services.AddSingleton<Redirects>();
        builder.Services.AddScoped<ServiceAdmin>();
        builder.Services.AddScoped<DeviceService>();
        builder.Services.AddScoped<Accounts.IAccountObserver, DeviceSignInsObserver>();
        builder.Services.AddScoped<Secrets.IProtectedSecrets, GrantSecrets>();
        return builder;
    }
}
