using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.WebUtilities;
using Scalar.AspNetCore;

namespace Countersign.Operations;

/// <summary>JSON conventions, errors, health, request limits and the API description.</summary>
public static class OperationsSetup
{
    /// <summary>Enough for any request this API takes; larger bodies are refused before they are read.</summary>
    public const int MaxRequestBodyBytes = 64 * 1024;

    public static IHostApplicationBuilder AddOperations(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.Configure<JsonOptions>(o => o.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower);
        services.Configure<KestrelServerOptions>(o =>
        {
            o.Limits.MaxRequestBodySize = MaxRequestBodyBytes;
            o.AddServerHeader = false;
        });
        // Binding failures throw, so BadRequestExceptionHandler can answer them with a problem body.
        services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        services.AddProblemDetails();
        services.AddExceptionHandler<BadRequestExceptionHandler>();
        services.AddHealthChecks();
        services.AddOpenApi(OpenApiConventions.Configure);
        return builder;
    }

    public static WebApplication UseOperations(this WebApplication app)
    {
        app.UseExceptionHandler();
        app.UseStatusCodePages(context => WriteStatusProblemAsync(context.HttpContext));
        return app;
    }

    /// <summary>
    /// Gives every bodiless error (from routing, authentication, Kestrel's body limit) the same problem
    /// shape with a stable <c>error</c> code. An over-long body is answered as 400, like any other bad input.
    /// </summary>
    private static async Task WriteStatusProblemAsync(HttpContext http)
    {
        var (status, error, title) = http.Response.StatusCode switch
        {
            StatusCodes.Status413PayloadTooLarge => (400, "request_too_large", "The request body is too large."),
            StatusCodes.Status400BadRequest => (400, "invalid_request", "The request is not valid."),
            StatusCodes.Status401Unauthorized => (401, "unauthorized", "Authentication is required."),
            StatusCodes.Status403Forbidden => (403, "forbidden", "You may not do this."),
            StatusCodes.Status404NotFound => (404, "not_found", "Not found."),
            StatusCodes.Status405MethodNotAllowed => (405, "method_not_allowed", "This method is not allowed here."),
            StatusCodes.Status415UnsupportedMediaType => (415, "unsupported_media_type", "Send application/json."),
            var other => (other, "error", ReasonPhrases.GetReasonPhrase(other)),
        };
        http.Response.StatusCode = status;
        await http.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
        {
            HttpContext = http,
            ProblemDetails = { Status = status, Title = title, Extensions = { ["error"] = error } },
        });
    }

    public static WebApplication MapOperations(this WebApplication app)
    {
        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false });
        app.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = c => c.Tags.Contains("ready") });
        app.MapOpenApi();
        // Served from this server alone: no fonts, scripts, telemetry or AI agent from other hosts, and no buttons
        // that lead to services outside the product (client downloads, "open in", MCP).
        app.MapScalarApiReference("/docs", o => o
            .DisableDefaultFonts()
            .DisableTelemetry()
            .DisableAgent()
            .DisableMcp()
            .HideClientButton()
            .HideDeveloperTools()
            .WithTitle("Countersign API"));
        return app;
    }
}
