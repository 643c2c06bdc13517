using System.Security.Cryptography;
using System.Text;
using Countersign.Secrets;
using Countersign.Storage;
using Microsoft.EntityFrameworkCore;

namespace Countersign.Totp;

/// <summary>
/// Ten single-use codes of 50 random bits each, shown once as <c>xxxxx-xxxxx</c> (lower-case base32) and
/// stored as HMAC-SHA256 under a key derived from the master key: a copy of the database alone cannot be
/// searched for them offline (ASVS 6.5.2).
/// </summary>
public sealed class RecoveryCodes(CountersignDb db, KeyMaterial keys, TimeProvider time)
{
    public const int Count = 10;
    private const string Alphabet = "abcdefghijklmnopqrstuvwxyz234567";

    /// <summary>Replaces the user's codes with a new set (saved with the caller's next save) and returns them.</summary>
    /// <remarks>Both callers write an audit event right after, in the same transaction, which saves these.</remarks>
    public async Task<IReadOnlyList<string>> RegenerateAsync(Guid userId, CancellationToken ct = default)
    {
        await db.RecoveryCodes.Where(c => c.UserId == userId).ExecuteDeleteAsync(ct);
        var codes = Enumerable.Range(0, Count).Select(_ => NewCode()).ToList();
        foreach (var code in codes)
        {
            db.RecoveryCodes.Add(new RecoveryCode { UserId = userId, Hash = Hash(code), CreatedAt = time.GetUtcNow() });
        }
        return codes;
    }

    /// <summary>Spends a code: true once per code, however many requests present it at once.</summary>
    public async Task<bool> UseAsync(Guid userId, string code, CancellationToken ct = default)
    {
        var hash = Hash(Normalise(code));
        var now = time.GetUtcNow();
        return await db.RecoveryCodes.Where(c => c.UserId == userId && c.Hash == hash && c.UsedAt == null)
            .ExecuteUpdateAsync(s => s.SetProperty(c => c.UsedAt, now), ct) == 1;
    }

    public Task<int> RemainingAsync(Guid userId, CancellationToken ct = default) =>
        db.RecoveryCodes.CountAsync(c => c.UserId == userId && c.UsedAt == null, ct);

    public Task<int> RemoveAllAsync(Guid userId, CancellationToken ct = default) =>
        db.RecoveryCodes.Where(c => c.UserId == userId).ExecuteDeleteAsync(ct);

    private static string NewCode()
    {
        var chars = new char[10];
        for (var i = 0; i < chars.Length; i++)
        {
            chars[i] = Alphabet[RandomNumberGenerator.GetInt32(Alphabet.Length)];
        }
        return new string(chars, 0, 5) + "-" + new string(chars, 5, 5);
    }

    /// <summary>Accepts what people type: any case, with or without the dash, stray spaces.</summary>
    private static string Normalise(string code)
    {
        var plain = new string(code.Where(char.IsLetterOrDigit).Select(char.ToLowerInvariant).ToArray());
        return plain.Length == 10 ? plain[..5] + "-" + plain[5..] : plain;
    }

    private byte[] Hash(string code) => HMACSHA256.HashData(keys.RecoveryCodeKey, Encoding.UTF8.GetBytes(code));
}
