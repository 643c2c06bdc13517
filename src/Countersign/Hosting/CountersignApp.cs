using System.Text.Json;
using Countersign.Accounts;
using Countersign.Admin;
using Countersign.Audit;
using Countersign.CallVerification;
using Countersign.Defences;
using Countersign.Ephemeral;
using Countersign.ForwardAuth;
using Countersign.LocalAdmin;
using Countersign.Localization;
using Countersign.Oidc;
using Countersign.Operations;
using Countersign.Passkeys;
using Countersign.QuadFactor;
using Countersign.Secrets;
using Countersign.Sessions;
using Countersign.SignIn;
using Countersign.Storage;
using Countersign.Totp;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.FileProviders;

namespace Countersign.Hosting;

/// <summary>
/// The composition root, shared by <c>serve</c>, every CLI command and the tests: one <c>AddXxx</c>
/// and one <c>MapXxx</c> per feature.
/// </summary>
public static class CountersignApp
{
    public static WebApplicationBuilder CreateBuilder(Action<WebApplicationBuilder>? configure = null)
    {
        // appsettings.json and the pages ship beside the executable; ./data stays relative to where it runs.
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = [],
            ContentRootPath = AppContext.BaseDirectory,
            // Named explicitly so the pages are found when another program (a test runner) hosts the app.
            ApplicationName = typeof(CountersignApp).Assembly.GetName().Name,
        });
        builder.Configuration.AddEnvironmentVariables("COUNTERSIGN__");
        configure?.Invoke(builder);

        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.AddStorage();
        builder.AddSecrets();
        builder.AddEphemeralStore();
        builder.AddAudit();
        builder.AddAccounts();
        builder.AddSessions();
        builder.AddDefences();
        builder.AddTotp();
        builder.AddSignIn();
        builder.AddPasskeys();
        builder.AddCallVerification();
        builder.AddForwardAuth();
        builder.AddOidc();
        builder.AddAdmin();
        builder.AddOperations();
        builder.AddMetrics();
        builder.AddClientAddress();
        builder.AddHttpHardening();
        builder.AddConnectionLimits();
        builder.AddQuadFactor();
        builder.AddLocalAdmin();
        builder.AddPageLocalization();
        builder.Services.AddRazorPages();
        builder.Services.AddTransient<Pages.UiText>();
        builder.Services.AddHostedService<StartupTasks>();
        return builder;
    }

    public static WebApplication Build(WebApplicationBuilder builder)
    {
        var app = builder.Build();
        app.UseClientAddress();
        app.UseForwardAuthFastPath();
        app.UseOidcFormTargets();
        // Named here so that routing runs after the verify fast path: WebApplication would otherwise put it first of
        // all, matching every proxy check against the whole route table for nothing.
        app.UseRouting();
        app.UseOperations();
        app.UseHttpHardening();
        app.UseStaticFiles(new StaticFileOptions
        {
            FileProvider = new EmbeddedFileProvider(typeof(CountersignApp).Assembly, "Countersign.wwwroot"),
        });
        app.UseNoStore();
        app.UseAuthentication();
        app.UsePageLocalization();
        app.UseAuthorization();
        app.UseAntiforgery();
        app.MapAccounts();
        app.MapSignIn();
        app.MapSessions();
        app.MapDefences();
        app.MapTotp();
        app.MapPasskeys();
        app.MapCalls();
        app.MapForwardAuth();
        app.MapOidc();
        app.MapAudit();
        app.MapAdmin();
        app.MapOperations();
        app.MapRazorPages();
        return app;
    }
}
