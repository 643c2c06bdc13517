using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Countersign.QuadFactor;

/// <summary>
/// The listener's certificate: from <c>QuadFactor:CertificatePath</c>, or in embedded mode a self-signed ECDSA
/// P-256 one generated there on first start (0600, beside the database). Its SHA-256 fingerprint is logged at every
/// start so that a client can pin it (<c>countersign client --pin</c>): with no CA in the way, pinning is what
/// stops a man in the middle.
/// </summary>
public static partial class QuadCertificate
{
    public static X509Certificate2 LoadOrCreate(QuadFactorOptions options, bool generate, TimeProvider time, ILogger logger)
    {
        var path = Path.GetFullPath(options.CertificatePath);
        if (!File.Exists(path))
        {
            if (!generate)
            {
                throw new InvalidOperationException(
                    $"QuadFactor:CertificatePath: no certificate at {path} (embedded mode generates one; set QuadFactor:GenerateCertificate=true, or QuadFactor:Enabled=false).");
            }
            Create(path, time);
            LogGenerated(logger, path);
        }
        var certificate = X509CertificateLoader.LoadPkcs12FromFile(path, options.CertificatePassword);
        if (!certificate.HasPrivateKey)
        {
            throw new InvalidOperationException($"QuadFactor:CertificatePath: {path} holds no private key.");
        }
        var fingerprint = Fingerprint(certificate);
        LogFingerprint(logger, fingerprint, certificate.NotAfter);
        return certificate;
    }

    /// <summary>SHA-256 of the certificate's DER, upper-case hex in colon-separated pairs (as <c>openssl x509 -fingerprint -sha256</c> prints it).</summary>
    public static string Fingerprint(X509Certificate certificate) =>
        Convert.ToHexString(SHA256.HashData(certificate.GetRawCertData())).Chunk(2).Select(p => new string(p)).Aggregate((a, b) => a + ":" + b);

    private static void Create(string path, TimeProvider time)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={Environment.MachineName} (Countersign quad-factor)", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        names.AddDnsName(Environment.MachineName);
        names.AddIpAddress(System.Net.IPAddress.Loopback);
        names.AddIpAddress(System.Net.IPAddress.IPv6Loopback);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
        var now = time.GetUtcNow();
        using var certificate = request.CreateSelfSigned(now.AddMinutes(-5), now.AddYears(2));
        var folder = Path.GetDirectoryName(path)!;
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(folder);
        }
        else
        {
            Directory.CreateDirectory(folder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        var bytes = certificate.Export(X509ContentType.Pkcs12);
        var create = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            create.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }
        try
        {
            using var file = new FileStream(path, create);
            file.Write(bytes);
        }
        catch (IOException) when (File.Exists(path))
        {
            // Another process (a second start, the CLI) wrote it first: use that one.
        }
    }

    [LoggerMessage(EventId = 5001, Level = LogLevel.Warning,
        Message = "Quad-factor: generated a self-signed certificate at {Path}; clients must pin its fingerprint")]
    private static partial void LogGenerated(ILogger logger, string path);

    [LoggerMessage(EventId = 5002, Level = LogLevel.Information,
        Message = "Quad-factor certificate SHA-256 fingerprint {Fingerprint} (valid until {NotAfter:u}); pin it with `countersign client --pin`")]
    private static partial void LogFingerprint(ILogger logger, string fingerprint, DateTime notAfter);
}
