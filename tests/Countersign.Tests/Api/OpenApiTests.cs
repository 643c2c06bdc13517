using System.Text.Json;
using System.Text.RegularExpressions;
using Countersign.Tests.Infrastructure;

namespace Countersign.Tests.Api;

/// <summary>The API description says what the API does, and its browser works from this server alone.</summary>
public sealed partial class OpenApiTests(SqliteServer server) : IClassFixture<SqliteServer>
{
    private async Task<JsonElement> DocumentAsync() =>
        JsonDocument.Parse(await server.CreateClient().GetStringAsync("/openapi/v1.json")).RootElement.Clone();

    private static JsonElement Operation(JsonElement document, string path, string method) =>
        document.GetProperty("paths").GetProperty(path).GetProperty(method);

    [Fact]
    public async Task The_bearer_scheme_is_declared_and_required_where_a_token_is()
    {
        var document = await DocumentAsync();
        var bearer = document.GetProperty("components").GetProperty("securitySchemes").GetProperty("Bearer");
        Assert.Equal("http", bearer.GetProperty("type").GetString());
        Assert.Equal("bearer", bearer.GetProperty("scheme").GetString());
        Assert.Equal("JWT", bearer.GetProperty("bearerFormat").GetString());

        static bool NeedsBearer(JsonElement op) => op.TryGetProperty("security", out var security)
            && security.EnumerateArray().Any(r => r.TryGetProperty("Bearer", out _));
        Assert.True(NeedsBearer(Operation(document, "/api/me", "get")));
        Assert.True(NeedsBearer(Operation(document, "/api/admin/audit", "get")));
        Assert.False(NeedsBearer(Operation(document, "/api/auth/login", "post")));
    }

    [Fact]
    public async Task Optional_fields_are_not_required_and_numbers_are_numbers()
    {
        var schemas = (await DocumentAsync()).GetProperty("components").GetProperty("schemas");
        string[] Required(string schema) => [.. schemas.GetProperty(schema).GetProperty("required").EnumerateArray().Select(e => e.GetString()!).Order()];
        Assert.Equal(["password", "username"], Required("LoginRequest"));
        Assert.Equal(["password", "username"], Required("RegisterRequest"));
        Assert.Equal(["password", "recovery_code", "username"], Required("MfaResetRequest"));
        Assert.False(schemas.GetProperty("RemoveTotpRequest").TryGetProperty("required", out var none) && none.GetArrayLength() > 0);

        Assert.Equal("integer", schemas.GetProperty("TokenResponse").GetProperty("properties").GetProperty("expires_in").GetProperty("type").GetString());
        // No number anywhere is declared as "integer or string".
        foreach (var schema in schemas.EnumerateObject())
        {
            foreach (var property in schema.Value.TryGetProperty("properties", out var p) ? p.EnumerateObject() : default)
            {
                if (property.Value.TryGetProperty("type", out var type) && type.ValueKind == JsonValueKind.Array)
                {
                    var kinds = type.EnumerateArray().Select(t => t.GetString()).ToList();
                    Assert.False(kinds.Contains("string") && (kinds.Contains("integer") || kinds.Contains("number")), $"{schema.Name}.{property.Name}: {type}");
                }
            }
        }
    }

    [Theory]
    [InlineData("/api/auth/login", "post", new[] { 400, 401, 417, 423, 428, 429 })]
    [InlineData("/api/auth/mfa/reset", "post", new[] { 400, 401, 423, 428, 429 })]
    [InlineData("/api/auth/refresh", "post", new[] { 400, 401 })]
    [InlineData("/api/accounts", "post", new[] { 400, 403, 409, 429 })]
    [InlineData("/api/me", "get", new[] { 401, 404 })]
    [InlineData("/api/me/totp", "post", new[] { 401, 404, 409, 429 })]
    [InlineData("/api/me/totp", "delete", new[] { 400, 401, 429 })]
    [InlineData("/api/me/sessions/{id}", "delete", new[] { 401, 404 })]
    [InlineData("/api/admin/audit", "get", new[] { 401, 403 })]
    [InlineData("/api/admin/pairs", "post", new[] { 400, 401, 403, 409 })]
    [InlineData("/api/calls/pairs/{id}/call", "post", new[] { 401, 403, 404 })]
    [InlineData("/login/passkey", "post", new[] { 400, 401 })]
    public async Task Each_operation_declares_its_problems(string path, string method, int[] statuses)
    {
        var responses = Operation(await DocumentAsync(), path, method).GetProperty("responses");
        foreach (var status in statuses)
        {
            Assert.True(responses.TryGetProperty(status.ToString(System.Globalization.CultureInfo.InvariantCulture), out var response), $"{method} {path} lacks {status}");
            Assert.True(response.GetProperty("content").TryGetProperty("application/problem+json", out _), $"{method} {path} {status} is not a problem");
        }
    }

    [Fact]
    public async Task The_api_browser_loads_nothing_from_other_hosts_and_offers_no_outside_services()
    {
        var client = server.CreateClient();
        var page = await client.GetStringAsync("/docs/");
        Assert.Contains("<script src=\"scalar.js\"></script>", page, StringComparison.Ordinal);
        Assert.Empty(ExternalUrl().Matches(page));
        Assert.Empty(ExternalUrl().Matches(await client.GetStringAsync("/docs/scalar.aspnetcore.js")));
        foreach (var script in SrcAttribute().Matches(page).Select(m => m.Groups[1].Value))
        {
            Assert.DoesNotContain("//", script, StringComparison.Ordinal);
        }
        // Scalar's own fetches from other hosts (fonts, telemetry, the AI agent, MCP) and its client button are off.
        Assert.Contains("\"withDefaultFonts\":false", page, StringComparison.Ordinal);
        Assert.Contains("\"telemetry\":false", page, StringComparison.Ordinal);
        Assert.Contains("\"agent\":{\"disabled\":true}", page, StringComparison.Ordinal);
        Assert.Contains("\"mcp\":{\"disabled\":true}", page, StringComparison.Ordinal);
        Assert.Contains("\"hideClientButton\":true", page, StringComparison.Ordinal);
    }

    [GeneratedRegex(@"https?://(?!localhost|127\.0\.0\.1)[a-z0-9.-]+", RegexOptions.IgnoreCase)]
    private static partial Regex ExternalUrl();

    [GeneratedRegex("src=\"([^\"]+)\"")]
    private static partial Regex SrcAttribute();
}
