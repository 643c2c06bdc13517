namespace Countersign.Admin;

public static class AdminSetup
{
    public static IHostApplicationBuilder AddAdmin(this IHostApplicationBuilder builder)
    {
        builder.Services.AddScoped<UserDirectory>();
        builder.Services.AddScoped<AdminUsers>();
        StepUp.AddStepUp(builder.Services);
        // Idempotent: the pages' text is in resource files beside their marker types (Pages/Admin/AdminText.cs).
        builder.Services.AddLocalization();
        return builder;
    }
}
