using Countersign.Face;
using Countersign.Operations;
using Countersign.Secrets;
using Countersign.SignIn;
using Microsoft.Extensions.Options;

namespace Countersign.QuadFactor;

/// <summary>
/// The face engine as the server runs it: one engine at the calibrated threshold, at most one face per core at
/// once (each is ~80 ms of CPU, docs/face.md), so a burst of photos queues instead of starving every other request.
/// </summary>
public sealed class QuadFaces : IDisposable
{
    private readonly FaceEngine _engine;
    private readonly SemaphoreSlim _gate = new(Environment.ProcessorCount);

    public QuadFaces(IOptions<QuadFactorOptions> options) =>
        _engine = new FaceEngine(new FaceOptions { Threshold = options.Value.FaceThreshold });

    public Task<FaceResult<FaceTemplate>> EnrolAsync(byte[] image, CancellationToken ct) => GatedAsync(() => _engine.Enrol(image), ct);

    public Task<FaceResult<FaceVerification>> VerifyAsync(FaceTemplate template, byte[] image, CancellationToken ct) =>
        GatedAsync(() => _engine.Verify(template, image), ct);

    /// <summary>
    /// The work of a face check against nothing, for an attempt the core refused before it reached the face (an
    /// unknown user, a wrong password): every refusal then costs the same, so its timing does not say which factor
    /// failed (ASVS 6.3.8 in spirit).
    /// </summary>
    public Task CompareWithNothingAsync(byte[] image, CancellationToken ct) =>
        GatedAsync(() => _engine.Verify(new FaceTemplate(FaceEngine.ModelId, new float[128]), image), ct);

    private async Task<T> GatedAsync<T>(Func<T> work, CancellationToken ct)
    {
        await _gate.WaitAsync(ct);
        try
        {
            return work();
        }
        finally
        {
            _gate.Release();
        }
    }

    public void Dispose() => _gate.Dispose();
}

/// <summary>The photo a request carries for the face factor; the check marks it as compared.</summary>
public sealed class FaceProbe(byte[] image)
{
    public byte[] Image { get; } = image;

    public bool Compared { get; set; }
}

/// <summary>
/// The face against the enrolled template, at the engine's calibrated threshold. It does no liveness detection (a
/// photo of the user passes), which is why it is one factor of four and never one alone (NIST SP 800-63B §3.2.3).
/// </summary>
public sealed class FaceCheck(QuadEnrolments enrolments, QuadFaces faces, SecretStore secrets, CountersignMetrics metrics) : IFactorCheck
{
    public string Factor => Factors.Face;

    public bool IsPresented(SignInAttempt attempt) => attempt.Evidence.ContainsKey(Factors.Face);

    public async Task<string?> CheckAsync(SignInAccount account, SignInAttempt attempt, CancellationToken ct)
    {
        var probe = (FaceProbe)attempt.Evidence[Factors.Face];
        if (await enrolments.FindAsync(account.User.Id, ct) is not { } enrolment)
        {
            return "face_not_enrolled";
        }
        var template = FaceTemplate.FromBytes(secrets.Unprotect(SecretStore.FaceTemplatePurpose, enrolment.ProtectedFaceTemplate));
        if (template is null || template.Model != FaceEngine.ModelId)
        {
            // A template of an older model is not comparable: the user recovers the face (command 320).
            return "face_template_outdated";
        }
        probe.Compared = true;
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var result = await faces.VerifyAsync(template, probe.Image, ct);
        metrics.FaceVerified(!result.Succeeded ? "error" : result.Value.Match ? "match" : "no_match", System.Diagnostics.Stopwatch.GetElapsedTime(started));
        return !result.Succeeded ? "face_" + result.Error!.Value.Code() : result.Value.Match ? null : "wrong_face";
    }
}

/// <summary>Face templates, for <c>keys reencrypt</c>.</summary>
internal sealed class FaceTemplateSecrets(Storage.CountersignDb db) : IProtectedSecrets
{
    public Task<int> ReprotectAsync(SecretStore store, CancellationToken ct) =>
        store.ReprotectAsync(db.QuadEnrolments, SecretStore.FaceTemplatePurpose, e => e.ProtectedFaceTemplate, (e, value) => e.ProtectedFaceTemplate = value, ct);
}
