using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Countersign.Tests.Infrastructure;

namespace Countersign.Tests.Hardening;

/// <summary>The server behind its own TLS (Kestrel's HTTPS endpoint from configuration, a certificate made for the test).</summary>
public sealed class HttpsServer : TestServer
{
    public HttpsServer() : base(Database.Sqlite)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        request.CertificateExtensions.Add(names.Build());
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        CertificatePath = Path.Combine(Path.GetTempPath(), $"countersign-hsts-{Guid.NewGuid():N}.pfx");
        File.WriteAllBytes(CertificatePath, certificate.Export(X509ContentType.Pfx, "test"));
        Thumbprint = certificate.GetCertHashString(HashAlgorithmName.SHA256);
    }

    public string CertificatePath { get; }

    public string Thumbprint { get; }

    protected override void Configure(Dictionary<string, string?> settings)
    {
        // Kestrel's configured endpoints replace the test's plain-HTTP URL.
        settings["Kestrel:Endpoints:Https:Url"] = "https://127.0.0.1:0";
        settings["Kestrel:Endpoints:Https:Certificate:Path"] = CertificatePath;
        settings["Kestrel:Endpoints:Https:Certificate:Password"] = "test";
    }

    /// <summary>A client that trusts this server's certificate and no other.</summary>
    public HttpClient CreatePinnedClient() => new(new HttpClientHandler
    {
        ServerCertificateCustomValidationCallback = (_, certificate, _, _) =>
            certificate?.GetCertHashString(HashAlgorithmName.SHA256) == Thumbprint,
    })
    { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(60) };

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        File.Delete(CertificatePath);
    }
}

public sealed class HstsTests(HttpsServer server) : IClassFixture<HttpsServer>
{
    [Theory]
    [InlineData("/login")]
    [InlineData("/api/me")]
    [InlineData("/site.css")]
    public async Task L1_responses_over_https_carry_strict_transport_security(string path)
    {
        Assert.Equal("https", server.BaseAddress.Scheme);
        using var client = server.CreatePinnedClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        // A real host name: like ASP.NET Core's UseHsts, the header library leaves "localhost" out, so that a
        // developer's browser does not pin every local port to HTTPS for a year.
        request.Headers.Host = "id.example.com";
        var response = await client.SendAsync(request);
        Assert.NotEqual(HttpStatusCode.InternalServerError, response.StatusCode);
        // RFC 6797 §6.1: max-age of a year; the plain-HTTP side of this rule is in HardeningSuite.L1.
        Assert.Equal("max-age=31536000", response.Headers.GetValues("Strict-Transport-Security").Single());
    }
}
