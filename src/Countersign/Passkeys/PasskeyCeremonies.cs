using System.Text.Json;
using Countersign.Accounts;
using Microsoft.AspNetCore.Identity;

namespace Countersign.Passkeys;

/// <summary>
/// Identity throws when a credential arrives without a ceremony under way (no options were asked for, or they
/// expired) or cannot be parsed; to a client that is a rejected passkey, not a server error (pen test M1.4:
/// 310 of the fuzzer's 339 500s were <c>{"credential":"x"}</c>).
/// </summary>
internal static class PasskeyCeremonies
{
    public static async Task<PasskeyAssertionResult<User>?> TryPasskeyAssertionAsync(this SignInManager<User> signIn, string credential)
    {
        try
        {
            return await signIn.PerformPasskeyAssertionAsync(credential);
        }
        catch (Exception e) when (e is InvalidOperationException or JsonException or FormatException)
        {
            return null;
        }
    }

    public static async Task<PasskeyAttestationResult?> TryPasskeyAttestationAsync(this SignInManager<User> signIn, string credential)
    {
        try
        {
            return await signIn.PerformPasskeyAttestationAsync(credential);
        }
        catch (Exception e) when (e is InvalidOperationException or JsonException or FormatException)
        {
            return null;
        }
    }
}
