namespace Countersign.Secrets;

/// <summary>
/// A feature that keeps secrets protected by <see cref="SecretStore"/>: for <c>keys reencrypt</c>, it
/// re-protects each of its payloads (<see cref="SecretStore.ReprotectAsync{T}"/>) in the caller's unit of work,
/// which saves them all at once. Signing keys, TOTP seeds and pair secrets register one each.
/// </summary>
public interface IProtectedSecrets
{
    Task<int> ReprotectAsync(SecretStore store, CancellationToken ct);
}
