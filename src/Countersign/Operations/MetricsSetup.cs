using System.Net;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Countersign.Operations;

/// <summary>Section <c>Metrics</c>: OpenTelemetry metrics and traces, off by default.</summary>
public sealed class MetricsOptions
{
    public const string Section = "Metrics";

    public bool Enabled { get; set; }

    /// <summary>
    /// The Prometheus scrape endpoint, <c>http://Address:Port/metrics</c>: a listener of its own, never the public
    /// port, because scrapers cannot carry the short-lived admin tokens the API asks for. 9464 is the port
    /// registered for the OpenTelemetry Prometheus exporter; 0 turns the endpoint off (OTLP only).
    /// </summary>
    public int Port { get; set; } = 9464;

    /// <summary>Where the scrape endpoint listens: loopback unless the scraper is on another host.</summary>
    public string Address { get; set; } = "127.0.0.1";

    /// <summary>An OTLP collector (<c>http://collector:4317</c>, gRPC) for metrics and sign-in traces; none by default.</summary>
    public Uri? OtlpEndpoint { get; set; }
}

internal sealed class MetricsOptionsValidator : IValidateOptions<MetricsOptions>
{
    public ValidateOptionsResult Validate(string? name, MetricsOptions options)
    {
        var errors = new List<string>();
        if (options.Port is < 0 or > 65535)
        {
            errors.Add($"Metrics:Port must be 0 to 65535, not {options.Port}.");
        }
        if (!IPAddress.TryParse(options.Address, out _))
        {
            errors.Add($"Metrics:Address must be an IP address, not '{options.Address}'.");
        }
        if (options.OtlpEndpoint is { } otlp && (!otlp.IsAbsoluteUri || otlp.Scheme is not ("http" or "https")))
        {
            errors.Add("Metrics:OtlpEndpoint must be an absolute http or https URL.");
        }
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}

public static class MetricsSetup
{
    public static IHostApplicationBuilder AddMetrics(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton<CountersignMetrics>();
        builder.Services.AddOptions<MetricsOptions>().BindValidated(MetricsOptions.Section);
        builder.Services.AddSingleton<IValidateOptions<MetricsOptions>, MetricsOptionsValidator>();
        var options = builder.Configuration.ComposeTime<MetricsOptions>(MetricsOptions.Section);
        if (!options.Enabled)
        {
            return builder;
        }
        var telemetry = builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService("countersign", serviceInstanceId: Environment.MachineName + ":" + Environment.ProcessId))
            .WithMetrics(metrics =>
            {
                // The framework's own meters: request latency by route and status (so 423/428/429 counts too),
                // Kestrel connections, SignalR connections, runtime (GC, thread pool).
                metrics.AddMeter(CountersignMetrics.MeterName, "Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel",
                    "Microsoft.AspNetCore.Http.Connections", "Microsoft.AspNetCore.Authentication", "System.Runtime");
                if (options.Port != 0 && IPAddress.TryParse(options.Address, out var address))
                {
                    metrics.AddPrometheusHttpListener(o =>
                    {
                        o.Host = address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{address}]" : address.ToString();
                        o.Port = options.Port;
                    });
                }
                if (options.OtlpEndpoint is { } otlp)
                {
                    metrics.AddOtlpExporter(o => o.Endpoint = otlp);
                }
            });
        if (options.OtlpEndpoint is { } endpoint)
        {
            telemetry.WithTracing(tracing => tracing
                .AddSource(CountersignMetrics.MeterName, "Microsoft.AspNetCore")
                .AddOtlpExporter(o => o.Endpoint = endpoint));
        }
        return builder;
    }
}
