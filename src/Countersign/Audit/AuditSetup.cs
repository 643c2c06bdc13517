using Microsoft.Extensions.Options;

namespace Countersign.Audit;

public static class AuditSetup
{
    public static IHostApplicationBuilder AddAudit(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<AuditOptions>().BindValidated(AuditOptions.Section);
        builder.Services.AddSingleton<IValidateOptions<AuditOptions>, AuditOptionsValidator>();
        builder.Services.AddSingleton<AuditLog>();
        builder.Services.AddSingleton<AuditCheckpoints>();
        builder.Services.AddHostedService<AuditCheckpointer>();
        builder.Services.AddSingleton<AttemptLog>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<AttemptLog>());
        if (builder.Configuration.ComposeTime<AuditOptions>(AuditOptions.Section).SeparateDatabase)
        {
            builder.Services.AddSingleton<AuditTrail>();
            builder.Services.AddSingleton<AuditShipper>();
            builder.Services.AddHostedService(sp => sp.GetRequiredService<AuditShipper>());
            builder.Services.AddHealthChecks().AddCheck<AuditShippingHealthCheck>("audit_database", tags: ["ready"]);
        }
        return builder;
    }
}
