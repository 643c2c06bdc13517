using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Options;

namespace Countersign.Secrets;

/// <summary>
/// The keys that must stay outside the database: the master key and the password peppers. Configured
/// values win; whatever is missing comes from the key file, which is created (mode 0600) on first run.
/// </summary>
public sealed class KeyMaterial
{
    // Loaded on first use, not at construction, so that option validation reports a bad key first.
    private readonly Lazy<(byte[] MasterKey, SortedDictionary<int, byte[]> Peppers)> _keys;

    public KeyMaterial(IOptions<SecretsOptions> options) => _keys = new(() => Load(options.Value));

    public byte[] MasterKey => _keys.Value.MasterKey;

    /// <summary>Keys derived from the master key for one use each (HKDF, RFC 5869), so none is ever stored.</summary>
    public byte[] RecoveryCodeKey => _recoveryCodeKey ??= Derive("Countersign.RecoveryCodes.v1");

    public byte[] CaptchaKey => _captchaKey ??= Derive("Countersign.Captcha.v1");

    public byte[] AuditCheckpointKey => _auditCheckpointKey ??= Derive("Countersign.AuditCheckpoint.v1");

    /// <summary>Encrypts the OpenID Connect provider's codes and refresh tokens (JWE, A256KW): the same on every node.</summary>
    public byte[] OidcEncryptionKey => _oidcEncryptionKey ??= Derive("Countersign.Oidc.Encryption.v1");

    /// <summary>Keys the pairwise subjects applications see (OIDC Core §8.1).</summary>
    public byte[] OidcSubjectKey => _oidcSubjectKey ??= Derive("Countersign.Oidc.Subject.v1");

    private byte[]? _oidcEncryptionKey;
    private byte[]? _oidcSubjectKey;
    private byte[]? _recoveryCodeKey;
    private byte[]? _captchaKey;
    private byte[]? _auditCheckpointKey;

    private byte[] Derive(string purpose) =>
        HKDF.DeriveKey(HashAlgorithmName.SHA256, MasterKey, 32, info: System.Text.Encoding.UTF8.GetBytes(purpose));

    public (int Version, byte[] Pepper) CurrentPepper
    {
        get
        {
            var peppers = _keys.Value.Peppers;
            return (peppers.Keys.Last(), peppers[peppers.Keys.Last()]);
        }
    }

    public byte[]? Pepper(int version) => _keys.Value.Peppers.GetValueOrDefault(version);

    private static (byte[], SortedDictionary<int, byte[]>) Load(SecretsOptions o)
    {
        var file = o.MasterKey is null || o.Peppers.Count == 0 ? LoadOrCreate(o.KeyFile) : null;
        var masterKey = Convert.FromBase64String(o.MasterKey ?? file!.MasterKey);
        var peppers = new SortedDictionary<int, byte[]>();
        foreach (var (version, pepper) in o.Peppers.Count > 0 ? o.Peppers : file!.Peppers)
        {
            peppers[int.Parse(version, CultureInfo.InvariantCulture)] = Convert.FromBase64String(pepper);
        }
        return (masterKey, peppers);
    }

    private static KeyFile LoadOrCreate(string path)
    {
        if (File.Exists(path))
        {
            return JsonSerializer.Deserialize<KeyFile>(File.ReadAllText(path))
                ?? throw new InvalidOperationException($"The key file {path} is empty.");
        }
        var created = new KeyFile
        {
            MasterKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
            Peppers = new() { ["1"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)) },
        };
        Storage.PrivateFiles.CreateFolder(Path.GetDirectoryName(Path.GetFullPath(path))!);
        // Create with 0600 from the start, so the secret is never readable by others even briefly.
        var fileOptions = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            fileOptions.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }
        using (var stream = new FileStream(path, fileOptions))
        {
            JsonSerializer.Serialize(stream, created, Indented);
        }
        return created;
    }

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    private sealed class KeyFile
    {
        [JsonPropertyName("master_key")]
        public string MasterKey { get; set; } = "";

        [JsonPropertyName("peppers")]
        public Dictionary<string, string> Peppers { get; set; } = [];
    }
}
