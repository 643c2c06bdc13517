using System.Security.Cryptography;
using Countersign.Secrets;
using Countersign.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.IdentityModel.Tokens;

namespace Countersign.Sessions;

/// <summary>
/// The ES256 keys that sign access tokens, loaded from the database once and kept in memory. The
/// newest signs; all are published in the JWKS so tokens signed before a rotation still verify.
/// </summary>
public sealed class SigningKeys(IServiceScopeFactory scopes, TimeProvider time)
{
    /// <summary>
    /// How often a token with an unknown key id may make this node look in the database again. Short, because a
    /// node restarted after <c>keys rotate</c> signs with the new key at once and every other node must accept its
    /// tokens from the first one (the cluster tests measure it); long enough that a flood of made-up key ids costs
    /// one small query a second.
    /// </summary>
    private static readonly TimeSpan ReloadInterval = TimeSpan.FromSeconds(1);

    private volatile List<ECDsaSecurityKey> _keys = [];

    /// <summary>The last reload an unknown key id asked for. Not the start-up load: a node just started must still
    /// look when the first token signed with a key newer than its start arrives.</summary>
    private long _lastReloadTicks = long.MinValue / 2;

    public SigningCredentials Current =>
        new(_keys.Count > 0 ? _keys[^1] : throw new InvalidOperationException("Signing keys are not loaded yet."),
            SecurityAlgorithms.EcdsaSha256);

    public IReadOnlyList<ECDsaSecurityKey> All => _keys;

    /// <summary>Loads the keys, creating the first one when there is none.</summary>
    public async Task LoadAsync(CancellationToken ct = default)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<CountersignDb>();
        var secrets = scope.ServiceProvider.GetRequiredService<SecretStore>();
        if (!await db.SigningKeys.AnyAsync(ct))
        {
            await AddKeyAsync(db, secrets, time, ct);
        }
        await ReloadAsync(db, secrets, ct);
    }

    /// <summary>Adds a new signing key, which signs from the next load on.</summary>
    public static async Task<string> AddKeyAsync(CountersignDb db, SecretStore secrets, TimeProvider time, CancellationToken ct = default)
    {
        using var ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var key = new SigningKey
        {
            Id = Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(12)),
            CreatedAt = time.GetUtcNow(),
            ProtectedPrivateKey = secrets.Protect(SecretStore.SigningKeyPurpose, ecdsa.ExportPkcs8PrivateKey()),
        };
        db.SigningKeys.Add(key);
        await db.SaveChangesAsync(ct);
        return key.Id;
    }

    /// <summary>
    /// Another node may have added a key this one has not seen: look again, at most once per
    /// <see cref="ReloadInterval"/>, so a flood of tokens with made-up key ids cannot turn into a flood of database queries.
    /// </summary>
    public IEnumerable<SecurityKey> Resolve(string? kid)
    {
        var known = _keys.Where(k => k.KeyId == kid).ToList();
        var now = time.GetUtcNow().UtcTicks;
        var last = Interlocked.Read(ref _lastReloadTicks);
        if (known.Count == 0 && now - last > ReloadInterval.Ticks
            && Interlocked.CompareExchange(ref _lastReloadTicks, now, last) == last)
        {
            LoadAsync().GetAwaiter().GetResult();
            known = _keys.Where(k => k.KeyId == kid).ToList();
        }
        return known;
    }

    /// <summary>The public halves as a JWK Set (RFC 7517 §5, RFC 7518 §6.2.1).</summary>
    public object Jwks() => new
    {
        keys = _keys.Select(key =>
        {
            var p = key.ECDsa.ExportParameters(includePrivateParameters: false);
            return new Dictionary<string, string>
            {
                ["kty"] = "EC",
                ["crv"] = "P-256",
                ["x"] = Base64UrlEncoder.Encode(p.Q.X),
                ["y"] = Base64UrlEncoder.Encode(p.Q.Y),
                ["kid"] = key.KeyId,
                ["use"] = "sig",
                ["alg"] = SecurityAlgorithms.EcdsaSha256,
            };
        }).ToList(),
    };

    private async Task ReloadAsync(CountersignDb db, SecretStore secrets, CancellationToken ct)
    {
        var rows = await db.SigningKeys.AsNoTracking().OrderBy(k => k.CreatedAt).ToListAsync(ct);
        _keys = rows.Select(row =>
        {
            var ecdsa = ECDsa.Create();
            ecdsa.ImportPkcs8PrivateKey(secrets.Unprotect(SecretStore.SigningKeyPurpose, row.ProtectedPrivateKey), out _);
            return new ECDsaSecurityKey(ecdsa) { KeyId = row.Id };
        }).ToList();
    }
}
