using Countersign.Ephemeral;
using Countersign.SignIn;
using Microsoft.Extensions.Options;

namespace Countersign.QuadFactor;

/// <summary>
/// The enrolled device: the request is signed by the enrolled key, its nonce is fresh for that key, and the MAC
/// is the enrolled one. The key is the factor; the MAC is the seed's rule, kept because it costs nothing, but any
/// client can report any MAC, so it never stands alone (docs/quad-factor.md, threat model).
/// </summary>
public sealed class DeviceKeyCheck(QuadEnrolments enrolments, NonceGuard nonces) : IFactorCheck
{
    public string Factor => Factors.DeviceKey;

    public bool IsPresented(SignInAttempt attempt) => attempt.Evidence.ContainsKey(Factors.DeviceKey);

    public async Task<string?> CheckAsync(SignInAccount account, SignInAttempt attempt, CancellationToken ct)
    {
        var proof = (DeviceProof)attempt.Evidence[Factors.DeviceKey];
        if (await enrolments.FindAsync(account.User.Id, ct) is not { } enrolment)
        {
            return "device_not_enrolled";
        }
        // The signature first: without the key, nobody can spend the device's nonces.
        if (!proof.VerifiedBy(enrolment.PublicKey))
        {
            return "wrong_device_signature";
        }
        if (!await nonces.SpendAsync(enrolment.PublicKey, proof.Nonce))
        {
            return "nonce_replayed";
        }
        return proof.Mac == enrolment.Mac ? null : "wrong_mac";
    }
}

/// <summary>
/// Possession of the key being enrolled (registration, device replacement): the request is signed by the new key
/// and its nonce is fresh for it, so nobody enrols a key they do not hold, nor replays the enrolment.
/// </summary>
public sealed class NewDeviceKeyCheck(NonceGuard nonces) : IFactorCheck
{
    public string Factor => Factors.NewDeviceKey;

    public bool IsPresented(SignInAttempt attempt) => attempt.Evidence.ContainsKey(Factors.NewDeviceKey);

    public async Task<string?> CheckAsync(SignInAccount account, SignInAttempt attempt, CancellationToken ct)
    {
        var proof = (DeviceProof)attempt.Evidence[Factors.NewDeviceKey];
        if (!proof.VerifiedBy(proof.NewPublicKey!))
        {
            return "wrong_new_device_signature";
        }
        return await nonces.SpendAsync(proof.NewPublicKey!, proof.Nonce) ? null : "nonce_replayed";
    }
}

/// <summary>
/// Each (device, nonce) is accepted once while its <c>client_time</c> could still pass the clock check, on every
/// node (the ephemeral store: memory for one node, Redis for many). Past that window the clock check refuses it.
/// </summary>
public sealed class NonceGuard(IEphemeralStore store, IOptionsMonitor<QuadFactorOptions> options)
{
    public Task<bool> SpendAsync(byte[] spki, string nonce) =>
        // Twice the skew: a time 120 s ahead stays acceptable for 240 s of server time.
        store.SetIfAbsentAsync($"qf:nonce:{DeviceProof.DeviceId(spki)}:{nonce}", "1", 2 * options.CurrentValue.MaxClockSkew + TimeSpan.FromSeconds(5));
}
