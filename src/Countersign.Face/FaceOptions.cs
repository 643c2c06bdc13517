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
    /// The smallest face, as the shorter side of the detector's box in pixels, that is described. Smaller
    /// faces give <see cref="FaceError.FaceTooSmall"/> and do not count as a second face.
    /// </summary>
    public int MinFaceSize { get; init; } = 64;

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
        if (MinFaceSize < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MinFaceSize), MinFaceSize, "the minimum face size is at least 1 pixel");
        }
    }
}
