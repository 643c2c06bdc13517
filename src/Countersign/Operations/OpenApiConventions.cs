using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Infrastructure;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.ModelBinding;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.OpenApi;

namespace Countersign.Operations;

/// <summary>
/// What the OpenAPI document says beyond what the endpoints' types give: the security schemes, every problem
/// an operation can answer, and numbers as numbers. Problems come from one place each: an endpoint's own
/// <see cref="OpenApiProblems.ProducesProblems{TBuilder}"/> line (its domain answers: 404, 409, 417, 423, 428,
/// 429), and the endpoint's metadata for the answers every such endpoint gives (400 for a body that cannot be
/// read, 401 where authentication is required, 403 where a role or the admin policy is).
/// </summary>
internal static class OpenApiConventions
{
    public const string Bearer = "Bearer";
    public const string Cookie = "Cookie";

    public static void Configure(OpenApiOptions options)
    {
        options.AddDocumentTransformer((document, _, _) =>
        {
            document.Components ??= new OpenApiComponents();
            document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
            document.Components.SecuritySchemes[Bearer] = new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.Http,
                Scheme = "bearer",
                BearerFormat = "JWT",
                Description = "The access token from POST /api/auth/login (ES256, 5 minutes).",
            };
            document.Components.SecuritySchemes[Cookie] = new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.ApiKey,
                In = ParameterLocation.Cookie,
                Name = "__Host-countersign",
                Description = "The browser session of the sign-in pages (outside /api only).",
            };
            return Task.CompletedTask;
        });
        options.AddOperationTransformer(async (operation, context, ct) =>
        {
            var metadata = context.Description.ActionDescriptor.EndpointMetadata;
            var statuses = new SortedSet<int>();
            if (context.Description.ParameterDescriptions.Any(p => p.Source == BindingSource.Body))
            {
                statuses.Add(StatusCodes.Status400BadRequest);
            }
            var authorize = metadata.OfType<IAuthorizeData>().ToList();
            var policies = metadata.OfType<AuthorizationPolicy>().ToList();
            if ((authorize.Count > 0 || policies.Count > 0) && !metadata.OfType<IAllowAnonymous>().Any())
            {
                statuses.Add(StatusCodes.Status401Unauthorized);
                if (authorize.Any(a => a.Policy == Policies.Admin || !string.IsNullOrEmpty(a.Roles))
                    || policies.Any(p => p.Requirements.OfType<RolesAuthorizationRequirement>().Any()))
                {
                    statuses.Add(StatusCodes.Status403Forbidden);
                }
                var scheme = context.Description.RelativePath?.StartsWith("api/", StringComparison.Ordinal) == true ? Bearer : Cookie;
                operation.Security ??= [];
                operation.Security.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(scheme, context.Document)] = [] });
            }
            if (statuses.Count == 0)
            {
                return;
            }
            operation.Responses ??= [];
            var schema = await context.GetOrCreateSchemaAsync(typeof(ProblemDetails), null, ct);
            foreach (var status in statuses)
            {
                var key = status.ToString(System.Globalization.CultureInfo.InvariantCulture);
                if (!operation.Responses.ContainsKey(key))
                {
                    operation.Responses[key] = new OpenApiResponse
                    {
                        Description = ReasonPhrases.GetReasonPhrase(status),
                        Content = new Dictionary<string, OpenApiMediaType> { ["application/problem+json"] = new() { Schema = schema } },
                    };
                }
            }
        });
        // The serializer reads numbers from strings too (JsonSerializerDefaults.Web), but it always writes
        // numbers: the document describes what is sent, integer or number, never "integer or string".
        options.AddSchemaTransformer((schema, _, _) =>
        {
            if (schema.Type is { } type && (type & (JsonSchemaType.Integer | JsonSchemaType.Number)) != 0 && (type & JsonSchemaType.String) != 0)
            {
                schema.Type = type & ~JsonSchemaType.String;
                schema.Pattern = null;
            }
            return Task.CompletedTask;
        });
    }
}

public static class OpenApiProblems
{
    /// <summary>Declares the problem responses (RFC 9457, <c>application/problem+json</c>) an endpoint answers with.</summary>
    public static TBuilder ProducesProblems<TBuilder>(this TBuilder builder, params int[] statuses) where TBuilder : IEndpointConventionBuilder
    {
        foreach (var status in statuses)
        {
            builder.WithMetadata(new ProducesResponseTypeMetadata(status, typeof(ProblemDetails), ["application/problem+json"]));
        }
        return builder;
    }
}
