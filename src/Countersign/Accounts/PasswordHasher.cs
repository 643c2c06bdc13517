using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Countersign.Secrets;
using Geralt;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;

namespace Countersign.Accounts;

/// <summary>
/// The one password hasher (DESIGN §4). New hashes are Argon2id (libsodium) over an HMAC-SHA256 of the
/// password keyed with a pepper kept outside the database, stored as
/// <c>$cs$p{pepper version}$argon2id$v=19$m=…,t=…,p=1$salt$hash</c>. It also verifies bcrypt and
/// ASP.NET Identity v3 hashes from earlier systems and asks for a re-hash after they verify, so
/// users move to Argon2id on their next sign-in without a reset.
/// </summary>
public sealed class PasswordHasher : IPasswordHasher<User>, IDisposable
{
    private const string Prefix = "$cs$p";
    private readonly IOptionsMonitor<PasswordPolicyOptions> _options;
    private readonly KeyMaterial _keys;
    private readonly PasswordHasher<User> _identityV3 = new();
    // Argon2id is memory-hard: more hashes at once than cores only queues them in RAM and hurts latency.
    private readonly SemaphoreSlim _gate = new(Environment.ProcessorCount, Environment.ProcessorCount);
    private readonly Lazy<string> _dummy;

    public PasswordHasher(IOptionsMonitor<PasswordPolicyOptions> options, KeyMaterial keys)
    {
        _options = options;
        _keys = keys;
        _dummy = new(() => HashPassword(null!, Convert.ToBase64String(RandomNumberGenerator.GetBytes(24))));
    }

    /// <summary>Makes the dummy hash now, so the first unknown username costs what every later one does.</summary>
    public void Prepare() => _ = _dummy.Value;

    public string HashPassword(User user, string password)
    {
        var o = _options.CurrentValue;
        var (version, pepper) = _keys.CurrentPepper;
        Span<byte> peppered = stackalloc byte[32];
        Pepper(pepper, password, peppered);
        // libsodium crypto_pwhash_argon2id_STRBYTES: the encoded hash fits in 128 characters.
        Span<char> encoded = stackalloc char[128];
        _gate.Wait();
        try
        {
            Argon2id.ComputeHash(encoded, peppered, o.Iterations, o.MemoryKiB * 1024);
        }
        finally
        {
            _gate.Release();
        }
        return Prefix + version.ToString(CultureInfo.InvariantCulture) + new string(encoded.TrimEnd('\0'));
    }

    public PasswordVerificationResult VerifyHashedPassword(User user, string hashedPassword, string providedPassword)
    {
        _gate.Wait();
        try
        {
            return Verify(user, hashedPassword, providedPassword);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// The login path: waits for a free core without blocking a thread-pool thread. With no stored hash
    /// (an unknown username) it verifies against a dummy, so the answer costs what a real account's costs
    /// and response time does not tell the two apart (ASVS 6.3.8).
    /// </summary>
    public async Task<PasswordVerificationResult> VerifyHashedPasswordAsync(User? user, string? hashedPassword, string providedPassword)
    {
        // The dummy hash is made (once) before taking a place at the gate: making it takes a place too, and
        // two requests each holding one place while waiting for the other's would deadlock on two cores.
        var stored = hashedPassword ?? _dummy.Value;
        await _gate.WaitAsync();
        try
        {
            return Verify(user!, stored, providedPassword);
        }
        finally
        {
            _gate.Release();
        }
    }

    private PasswordVerificationResult Verify(User user, string hashedPassword, string providedPassword)
    {
        if (hashedPassword.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return VerifyArgon2id(hashedPassword, providedPassword);
        }
        if (LegacyHashes.IsBcrypt(hashedPassword))
        {
            return LegacyHashes.VerifyBcrypt(hashedPassword, providedPassword)
                ? PasswordVerificationResult.SuccessRehashNeeded
                : PasswordVerificationResult.Failed;
        }
        if (LegacyHashes.IsIdentityV3(hashedPassword))
        {
            return _identityV3.VerifyHashedPassword(user, hashedPassword, providedPassword) == PasswordVerificationResult.Failed
                ? PasswordVerificationResult.Failed
                : PasswordVerificationResult.SuccessRehashNeeded;
        }
        return PasswordVerificationResult.Failed;
    }

    /// <summary>Names the scheme of a stored hash for the attempt log; never any part of the hash itself.</summary>
    public static string Mode(string? hashedPassword) => hashedPassword switch
    {
        null => "none",
        _ when hashedPassword.StartsWith(Prefix, StringComparison.Ordinal) => "argon2id",
        _ when LegacyHashes.IsBcrypt(hashedPassword) => "bcrypt",
        _ when LegacyHashes.IsIdentityV3(hashedPassword) => "pbkdf2",
        _ => "unknown",
    };

    private PasswordVerificationResult VerifyArgon2id(string stored, string password)
    {
        var versionEnd = stored.IndexOf('$', Prefix.Length);
        if (versionEnd < 0
            || !int.TryParse(stored.AsSpan(Prefix.Length, versionEnd - Prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var version)
            || _keys.Pepper(version) is not { } pepper)
        {
            return PasswordVerificationResult.Failed;
        }
        var encoded = stored.AsSpan(versionEnd);
        Span<byte> peppered = stackalloc byte[32];
        Pepper(pepper, password, peppered);
        if (!Argon2id.VerifyHash(encoded, peppered))
        {
            return PasswordVerificationResult.Failed;
        }
        var o = _options.CurrentValue;
        var stale = version != _keys.CurrentPepper.Version || Argon2id.NeedsRehash(encoded, o.Iterations, o.MemoryKiB * 1024);
        return stale ? PasswordVerificationResult.SuccessRehashNeeded : PasswordVerificationResult.Success;
    }

    // NFC first, so the same password typed on two keyboards hashes alike (ASVS 6.2.1 note on Unicode).
    private static void Pepper(byte[] pepper, string password, Span<byte> destination) =>
        HMACSHA256.HashData(pepper, Encoding.UTF8.GetBytes(password.Normalize(NormalizationForm.FormC)), destination);

    public void Dispose() => _gate.Dispose();
}
