using System.Security.Cryptography;
using System.Text;
using Countersign.Accounts;
using Countersign.Secrets;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;

namespace Countersign.Tests.Unit;

public sealed class PasswordHasherTests
{
    private static readonly string Pepper1 = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
    private static readonly string Pepper2 = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
    private static readonly string Master = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    private static PasswordHasher Hasher(int memoryKiB = 19_456, int iterations = 2, params string[] peppers)
    {
        var secrets = new SecretsOptions { MasterKey = Master };
        var version = 1;
        foreach (var p in peppers.Length == 0 ? [Pepper1] : peppers)
        {
            secrets.Peppers[(version++).ToString(System.Globalization.CultureInfo.InvariantCulture)] = p;
        }
        var options = new PasswordPolicyOptions { MemoryKiB = memoryKiB, Iterations = iterations };
        return new PasswordHasher(new StaticMonitor<PasswordPolicyOptions>(options), new KeyMaterial(Options.Create(secrets)));
    }

    private static readonly User User = new();

    [Fact]
    public void New_hashes_are_argon2id_with_the_owasp_parameters_and_the_pepper_version()
    {
        var hash = Hasher().HashPassword(User, "pass phrase");
        Assert.StartsWith("$cs$p1$argon2id$v=19$m=19456,t=2,p=1$", hash, StringComparison.Ordinal);
        Assert.Equal(PasswordVerificationResult.Success, Hasher().VerifyHashedPassword(User, hash, "pass phrase"));
        Assert.Equal(PasswordVerificationResult.Failed, Hasher().VerifyHashedPassword(User, hash, "pass phrasE"));
    }

    [Fact]
    public void The_pepper_is_needed_to_verify()
    {
        var hash = Hasher(1024, 1).HashPassword(User, "pass phrase");
        Assert.Equal(PasswordVerificationResult.Failed, Hasher(1024, 1, Pepper2).VerifyHashedPassword(User, hash, "pass phrase"));
    }

    [Fact]
    public void A_hash_under_an_older_pepper_verifies_and_asks_for_a_rehash()
    {
        var hash = Hasher(1024, 1, Pepper1).HashPassword(User, "pass phrase");
        var rotated = Hasher(1024, 1, Pepper1, Pepper2);
        Assert.Equal(PasswordVerificationResult.SuccessRehashNeeded, rotated.VerifyHashedPassword(User, hash, "pass phrase"));
        Assert.StartsWith("$cs$p2$", rotated.HashPassword(User, "pass phrase"), StringComparison.Ordinal);
    }

    [Fact]
    public void Weaker_parameters_than_configured_ask_for_a_rehash()
    {
        var weak = Hasher(1024, 1).HashPassword(User, "pass phrase");
        Assert.Equal(PasswordVerificationResult.SuccessRehashNeeded, Hasher(2048, 2).VerifyHashedPassword(User, weak, "pass phrase"));
        Assert.Equal(PasswordVerificationResult.Success, Hasher(1024, 1).VerifyHashedPassword(User, weak, "pass phrase"));
    }

    [Theory]
    [InlineData("$2a$")]
    [InlineData("$2b$")]
    [InlineData("$2y$")]
    public void Bcrypt_hashes_verify_and_ask_for_a_rehash(string prefix)
    {
        var hash = prefix + BCrypt.Net.BCrypt.HashPassword("legacy", 4)[4..];
        Assert.Equal(PasswordVerificationResult.SuccessRehashNeeded, Hasher(1024, 1).VerifyHashedPassword(User, hash, "legacy"));
        Assert.Equal(PasswordVerificationResult.Failed, Hasher(1024, 1).VerifyHashedPassword(User, hash, "Legacy"));
    }

    [Fact]
    public void Bcrypt_with_a_cost_below_four_is_refused()
    {
        var hash = BCrypt.Net.BCrypt.HashPassword("legacy", 4).Replace("$04$", "$03$", StringComparison.Ordinal);
        Assert.Equal(PasswordVerificationResult.Failed, Hasher(1024, 1).VerifyHashedPassword(User, hash, "legacy"));
    }

    [Fact]
    public void Identity_v3_pbkdf2_hashes_verify_and_ask_for_a_rehash()
    {
        var hash = new PasswordHasher<User>().HashPassword(User, "from identity");
        Assert.Equal(PasswordVerificationResult.SuccessRehashNeeded, Hasher(1024, 1).VerifyHashedPassword(User, hash, "from identity"));
        Assert.Equal(PasswordVerificationResult.Failed, Hasher(1024, 1).VerifyHashedPassword(User, hash, "from Identity"));
    }

    [Fact]
    public void Unicode_passwords_are_compared_in_nfc()
    {
        var composed = "caf\u00e9 au lait 2024!";
        var decomposed = composed.Normalize(NormalizationForm.FormD);
        Assert.NotEqual(composed, decomposed);
        var hash = Hasher(1024, 1).HashPassword(User, composed);
        Assert.Equal(PasswordVerificationResult.Success, Hasher(1024, 1).VerifyHashedPassword(User, hash, decomposed));
    }

    [Fact]
    public async Task Many_first_logins_for_unknown_users_at_once_all_finish()
    {
        // Regression: the dummy hash used to be made while holding a place at the per-core gate; two
        // requests each holding a place and waiting for the other deadlocked a two-core server for good
        // (seen twice in full runs). The race depends on timing, so this is a stress test, not a proof.
        var hasher = Hasher(1024, 1);
        using var start = new ManualResetEventSlim();
        var logins = Enumerable.Range(0, 16).Select(_ => Task.Run(async () =>
        {
            start.Wait();
            return await hasher.VerifyHashedPasswordAsync(null, null, "guess");
        })).ToList();
        start.Set();
        var results = await Task.WhenAll(logins).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.All(results, r => Assert.Equal(PasswordVerificationResult.Failed, r));
    }

    [Theory]
    [InlineData("")]
    [InlineData("plain")]
    [InlineData("$cs$p9$argon2id$v=19$m=1024,t=1,p=1$AAAA$AAAA")]
    [InlineData("$cs$px$argon2id$")]
    public void Unknown_or_damaged_hashes_fail_closed(string stored) =>
        Assert.Equal(PasswordVerificationResult.Failed, Hasher(1024, 1).VerifyHashedPassword(User, stored, "anything"));

    private sealed class StaticMonitor<T>(T value) : IOptionsMonitor<T>
    {
        public T CurrentValue => value;
        public T Get(string? name) => value;
        public IDisposable? OnChange(Action<T, string?> listener) => null;
    }
}
