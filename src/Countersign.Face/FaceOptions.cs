namespace Countersign.Face;

/// <summary>Settings of a <see cref="FaceEngine"/>.</summary>
public sealed class FaceOptions
{
    /// <summary>
    /// Two descriptors closer than this are the same person. Chosen from the evaluation in docs/face.md;
    /// lower is stricter (fewer false matches, more false non-matches).
    /// </summary>
    public double Threshold { get; init; } = FaceEngine.DefaultThreshold;

    /// <summary>The detector's score a face must exceed (face-api's default 0.5).</summary>
    public double DetectionScore { get; init; } = 0.5;

    /// <summary>
    /// The detector's input sizes (multiples of 32), tried in order until one finds a face. 416 is face-api's
    /// default and what the parity tests pin; the tiny detector misses faces that fill most of the frame at
    /// 416 but finds them at 224 or 160 (docs/face.md), so those follow, each ~3–7× cheaper than 416.
    /// </summary>
    public IReadOnlyList<int> DetectorInputSizes { get; init; } = [416, 224, 160];

    /// <summary>
    /// The smallest face, as the shorter side of the detector's box in pixels, that is described. Smaller
    /// faces give <see cref="FaceError.FaceTooSmall"/> and do not count as a second face. 48 lets a face that
    /// fills a 112×112 picture through (the tiny detector boxes it at 60–64 px high); docs/face.md measures
    /// what such small faces cost in distance.
    /// </summary>
    public int MinFaceSize { get; init; } = 48;

    /// <summary>Enrolment refuses a face whose aligned crop has a mean luma (0–255) below this (<see cref="FaceError.FaceTooDark"/>).</summary>
    public double MinBrightness { get; init; } = 50;

    /// <summary>
    /// Enrolment refuses a face whose aligned crop has less fine detail than this (Laplacian variance over
    /// grey variance on a 64×64 grid; <see cref="FaceError.FaceTooBlurred"/>). The 61 DeepFace photos measure
    /// 0.18–1.22, the same blurred by σ ≈ face/50 at most 0.053 (docs/face.md).
    /// </summary>
    public double MinSharpness { get; init; } = 0.06;

    internal void Validate()
    {
        if (!(Threshold > 0 && Threshold < 4))
        {
            throw new ArgumentOutOfRangeException(nameof(Threshold), Threshold, "the threshold is a distance in (0, 4)");
        }
        if (!(DetectionScore > 0 && DetectionScore < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(DetectionScore), DetectionScore, "the detection score is in (0, 1)");
        }
        if (DetectorInputSizes.Count == 0 || DetectorInputSizes.Any(s => s < 64 || s > 1024 || s % 32 != 0))
        {
            throw new ArgumentOutOfRangeException(nameof(DetectorInputSizes), "detector input sizes are multiples of 32 from 64 to 1024");
        }
        if (!(MinBrightness >= 0 && MinBrightness < 255))
        {
            throw new ArgumentOutOfRangeException(nameof(MinBrightness), MinBrightness, "the minimum brightness is a luma in [0, 255)");
        }
        if (!(MinSharpness >= 0 && double.IsFinite(MinSharpness)))
        {
            throw new ArgumentOutOfRangeException(nameof(MinSharpness), MinSharpness, "the minimum sharpness is a finite ratio ≥ 0");
        }
        if (MinFaceSize < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MinFaceSize), MinFaceSize, "the minimum face size is at least 1 pixel");
        }
    }
}
