using System.Net;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Countersign.Secrets;
using Countersign.SignIn;
using Countersign.Storage;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.Options;

namespace Countersign.QuadFactor;

/// <summary>Where the listener ended up (the port, when 0 asked for any), once the server has started.</summary>
public sealed class QuadListener(IOptions<QuadFactorOptions> options, IOptions<StorageOptions> storage, TimeProvider time, ILogger<QuadListener> logger)
{
    private readonly Lazy<X509Certificate2> _certificate = new(() =>
    {
        var embedded = storage.Value.Provider == StorageProvider.Sqlite;
        return QuadCertificate.LoadOrCreate(options.Value, options.Value.GenerateCertificate ?? embedded, time, logger);
    });

    internal ListenOptions? Listen { get; set; }

    /// <summary>The hosting URLs were bound in code (<see cref="HostingUrls"/>), so the web host's copy of them is dropped.</summary>
    internal bool BoundHostingUrls { get; set; }

    /// <summary>The bound endpoint, or null when the protocol is off or the server has not started.</summary>
    public IPEndPoint? EndPoint => Listen?.IPEndPoint;

    public string? Fingerprint => _certificate.IsValueCreated ? QuadCertificate.Fingerprint(_certificate.Value) : null;

    /// <summary>Loaded (or generated) when the server starts, or at the first handshake, never when a CLI command builds the same host.</summary>
    internal X509Certificate2 Certificate => _certificate.Value;
}

/// <summary>Loads the certificate as the server starts, so a missing or broken one stops the start with its reason.</summary>
internal sealed class QuadCertificateLoader(IOptions<QuadFactorOptions> options, IOptions<StorageOptions> storage, QuadListener listener) : IHostedService
{
    public Task StartAsync(CancellationToken ct)
    {
        if (options.Value.IsEnabled(storage.Value.Provider == StorageProvider.Sqlite))
        {
            _ = listener.Certificate;
        }
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken ct) => Task.CompletedTask;
}

public static class QuadFactorSetup
{
    public static IHostApplicationBuilder AddQuadFactor(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<QuadFactorOptions>().BindValidated(QuadFactorOptions.Section);
        services.AddSingleton<IValidateOptions<QuadFactorOptions>, QuadFactorOptionsValidator>();
        services.AddSingleton<QuadFaces>();
        services.AddSingleton<QuadConnections>();
        services.AddSingleton<QuadBuffers>();
        services.AddSingleton<QuadListener>();
        services.AddScoped<QuadEnrolments>();
        services.AddScoped<NonceGuard>();
        services.AddScoped<QuadCommands>();
        services.AddScoped<IFactorCheck, FaceCheck>();
        services.AddScoped<IFactorCheck, DeviceKeyCheck>();
        services.AddScoped<IFactorCheck, NewDeviceKeyCheck>();
        services.AddScoped<IProtectedSecrets, FaceTemplateSecrets>();
        services.AddHostedService<QuadCertificateLoader>();
        services.AddSingleton<ServerClock>();
        services.AddHostedService<ServerClockCheck>();
        services.AddHealthChecks().AddCheck<ServerClockHealthCheck>("server_clock", tags: ["ready"]);
        services.AddTransient<IStartupFilter, HostingUrlsBoundInCode>();
        // After AddConnectionLimits, so the per-client connection cap it sets as an endpoint default applies here too.
        services.AddOptions<KestrelServerOptions>().Configure<IServiceProvider>((kestrel, sp) =>
        {
            // Read, not validated: Kestrel's options are built with the host, before StartupTasks reports every bad
            // value at once; a bad value here gives the defaults, and the start stops on it a moment later.
            var configuration = sp.GetRequiredService<IConfiguration>();
            var quad = configuration.ComposeTime<QuadFactorOptions>(QuadFactorOptions.Section);
            var embedded = configuration.ComposeTime<StorageOptions>(StorageOptions.Section).Provider == StorageProvider.Sqlite;
            if (!quad.IsEnabled(embedded))
            {
                return;
            }
            if (!configuration.GetSection("Kestrel:Endpoints").Exists())
            {
                HostingUrls.Listen(kestrel, configuration["urls"]);
                sp.GetRequiredService<QuadListener>().BoundHostingUrls = true;
            }
            var listener = sp.GetRequiredService<QuadListener>();
            kestrel.Listen(IPAddress.TryParse(quad.Address, out var address) ? address : IPAddress.Loopback, quad.Port is >= 0 and <= 65535 ? quad.Port : 0, listen =>
            {
                listen.Protocols = HttpProtocols.None;
                listen.UseHttps(new HttpsConnectionAdapterOptions
                {
                    ServerCertificateSelector = (_, _) => listener.Certificate,
                    // TLS 1.2 and 1.3 only (RFC 8996 retires 1.0 and 1.1; ASVS 12.1.1).
                    SslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
                    ClientCertificateMode = ClientCertificateMode.NoCertificate,
                    HandshakeTimeout = TimeSpan.FromSeconds(10),
                });
                listen.UseConnectionHandler<QuadConnectionHandler>();
                listener.Listen = listen;
            });
        });
        return builder;
    }
}

/// <summary>
/// The web host hands the hosting URLs to Kestrel as well, which, seeing endpoints in code, ignores them with a warning
/// that reads as if HTTP were not served ("Overriding address(es) ..."). They are bound already, so the web host's copy
/// is dropped; startup filters run after the host adds them and before the server starts.
/// </summary>
internal sealed class HostingUrlsBoundInCode(QuadListener listener) : IStartupFilter
{
    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        if (listener.BoundHostingUrls && app.ServerFeatures.Get<IServerAddressesFeature>()?.Addresses is { IsReadOnly: false } addresses)
        {
            addresses.Clear();
        }
        next(app);
    };
}

/// <summary>
/// Kestrel serves either the hosting URLs (<c>Urls</c>, <c>--urls</c>) or endpoints configured in code, never both:
/// one endpoint in code would silently drop the HTTP ones. So when the protocol adds its endpoint, the hosting URLs
/// are bound in code too, the way Kestrel would bind them.
/// </summary>
internal static class HostingUrls
{
    public static void Listen(KestrelServerOptions kestrel, string? urls)
    {
        foreach (var url in (urls ?? "http://localhost:5000").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var address = BindingAddress.Parse(url);
            Action<ListenOptions> configure = address.Scheme == "https" ? l => l.UseHttps() : _ => { };
            if (address.IsUnixPipe)
            {
                kestrel.ListenUnixSocket(address.UnixPipePath, configure);
            }
            else if (string.Equals(address.Host, "localhost", StringComparison.OrdinalIgnoreCase))
            {
                kestrel.ListenLocalhost(address.Port, configure);
            }
            else if (IPAddress.TryParse(address.Host.Trim('[', ']'), out var ip))
            {
                kestrel.Listen(ip, address.Port, configure);
            }
            else
            {
                // *, + and host names: every address, as Kestrel does for them.
                kestrel.ListenAnyIP(address.Port, configure);
            }
        }
    }
}
