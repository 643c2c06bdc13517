using Microsoft.Extensions.Options;

namespace Countersign.LocalAdmin;

public static class LocalAdminSetup
{
    public static IHostApplicationBuilder AddLocalAdmin(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<LocalAdminOptions>().BindValidated(LocalAdminOptions.Section);
        builder.Services.AddSingleton<IValidateOptions<LocalAdminOptions>, LocalAdminOptionsValidator>();
        builder.Services.AddHostedService<LocalAdminSocket>();
        builder.Services.AddSingleton<LocalAdminClient>();
        return builder;
    }
}
