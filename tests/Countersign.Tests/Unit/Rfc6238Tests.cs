using System.Text;
using Countersign.Totp;
using OtpNet;

namespace Countersign.Tests.Unit;

public sealed class Rfc6238Tests
{
    // RFC 6238 Appendix B: the seed is the ASCII digits repeated to the hash's size, 20, 32 and 64 bytes.
    private static readonly byte[] Sha1Seed = Encoding.ASCII.GetBytes("12345678901234567890");
    private static readonly byte[] Sha256Seed = Encoding.ASCII.GetBytes("12345678901234567890123456789012");
    private static readonly byte[] Sha512Seed = Encoding.ASCII.GetBytes("1234567890123456789012345678901234567890123456789012345678901234");

    [Theory]
    [InlineData(59L, "94287082", "46119246", "90693936")]
    [InlineData(1111111109L, "07081804", "68084774", "25091201")]
    [InlineData(1111111111L, "14050471", "67062674", "99943326")]
    [InlineData(1234567890L, "89005924", "91819424", "93441116")]
    [InlineData(2000000000L, "69279037", "90698825", "38618901")]
    [InlineData(20000000000L, "65353130", "77737706", "47863826")]
    public void The_appendix_b_vectors_hold_for_every_algorithm(long unixTime, string sha1, string sha256, string sha512)
    {
        var step = Rfc6238.StepAt(DateTimeOffset.FromUnixTimeSeconds(unixTime));
        Assert.Equal(sha1, Rfc6238.Code(Sha1Seed, step, 8, OtpHashMode.Sha1));
        Assert.Equal(sha256, Rfc6238.Code(Sha256Seed, step, 8, OtpHashMode.Sha256));
        Assert.Equal(sha512, Rfc6238.Code(Sha512Seed, step, 8, OtpHashMode.Sha512));
    }

    [Theory]
    [InlineData(-1, true)]
    [InlineData(0, true)]
    [InlineData(1, true)]
    [InlineData(-2, false)]
    [InlineData(2, false)]
    public void One_step_of_drift_either_side_is_accepted_and_two_are_not(int drift, bool accepted)
    {
        var secret = Sha1Seed;
        var now = DateTimeOffset.FromUnixTimeSeconds(1_800_000_015);
        var step = Rfc6238.StepAt(now) + drift;
        var matched = Rfc6238.MatchingStep(secret, Rfc6238.Code(secret, step), now);
        Assert.Equal(accepted ? step : null, matched);
    }

    [Theory]
    [InlineData("")]
    [InlineData("12345")]
    [InlineData("1234567")]
    [InlineData("12a456")]
    public void Malformed_codes_never_match(string code) =>
        Assert.Null(Rfc6238.MatchingStep(Sha1Seed, code, DateTimeOffset.UtcNow));
}
