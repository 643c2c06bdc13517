namespace Countersign.Audit;

public static class AuditSetup
{
    public static IHostApplicationBuilder AddAudit(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<AuditOptions>().BindValidated(AuditOptions.Section);
        builder.Services.AddSingleton<AuditLog>();
        builder.Services.AddSingleton<AuditCheckpoints>();
        builder.Services.AddHostedService<AuditCheckpointer>();
        builder.Services.AddSingleton<AttemptLog>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<AttemptLog>());
        return builder;
    }
}
