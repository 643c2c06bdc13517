using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;

namespace Countersign.Client;

/// <summary>What a 200 from <c>/verify/{service}</c> said about one cookie.</summary>
public sealed record VerifiedDevice(string Subject, string Device, string? User, IReadOnlyList<string> Roles);

/// <summary>
/// The short positive cache of <see cref="CountersignAuthenticationOptions.CacheDuration"/>, one per process. Keyed by a
/// SHA-256 of the scheme and the cookie, so the cookies themselves (bearer secrets) are not kept as keys.
/// </summary>
public sealed class VerifyCache(IOptionsMonitor<CountersignAuthenticationOptions> options) : IDisposable
{
    private readonly MemoryCache _entries = new(new MemoryCacheOptions
    {
        SizeLimit = options.Get(CountersignDefaults.AuthenticationScheme).CacheSize,
    });

    public static string Key(string scheme, string cookie) => Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes(scheme + "\n" + cookie)));

    public bool TryGet(string key, out VerifiedDevice verified) => _entries.TryGetValue(key, out verified!);

    public void Set(string key, VerifiedDevice verified, TimeSpan duration) =>
        _entries.Set(key, verified, new MemoryCacheEntryOptions { AbsoluteExpirationRelativeToNow = duration, Size = 1 });

    public void Dispose() => _entries.Dispose();
}
