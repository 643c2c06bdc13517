namespace Countersign.Face;

/// <summary>
/// Enrols and verifies faces in-process: decode (JPEG/PNG, EXIF orientation) → tiny face detector →
/// exactly one usable face → 68 landmarks → dlib alignment → 150×150 → 128-d descriptor → Euclidean
/// distance. Thread-safe; the networks load once, lazily, and are shared by all engines.
/// </summary>
/// <remarks>
/// A face is something you are, not a secret, and this engine does no presentation-attack (liveness)
/// detection: a photo of the user passes. It must never be the only factor (NIST SP 800-63B §3.2.3);
/// Countersign pairs it with a device key.
/// </remarks>
public sealed class FaceEngine
{
    /// <summary>The default match threshold, from the evaluation in docs/face.md.</summary>
    public const double DefaultThreshold = 0.40;

    private readonly FaceOptions _options;

    public FaceEngine(FaceOptions? options = null)
    {
        _options = options ?? new FaceOptions();
        _options.Validate();
    }

    public double Threshold => _options.Threshold;

    /// <summary>The model id templates made now carry (loads the model if it is not loaded yet).</summary>
    public static string ModelId => FaceModel.Shared.Id;

    /// <summary>Loads the networks now rather than on the first request.</summary>
    public static void Warm() => _ = FaceModel.Shared;

    /// <summary>A template of the single face in <paramref name="image"/>.</summary>
    public FaceResult<FaceTemplate> Enrol(ReadOnlySpan<byte> image)
    {
        var (descriptor, error) = Describe(image);
        return descriptor is null
            ? FaceResult<FaceTemplate>.Failure(error!.Value)
            : FaceResult<FaceTemplate>.Success(new FaceTemplate(FaceModel.Shared.Id, descriptor));
    }

    /// <summary>Compares the single face in <paramref name="image"/> with <paramref name="template"/>.</summary>
    /// <exception cref="ArgumentException">The template was made by another model: re-enrol.</exception>
    public FaceResult<FaceVerification> Verify(FaceTemplate template, ReadOnlySpan<byte> image)
    {
        ArgumentNullException.ThrowIfNull(template);
        if (!string.Equals(template.Model, FaceModel.Shared.Id, StringComparison.Ordinal))
        {
            throw new ArgumentException($"the template was made by {template.Model}, this engine runs {FaceModel.Shared.Id}", nameof(template));
        }
        var (descriptor, error) = Describe(image);
        if (descriptor is null)
        {
            return FaceResult<FaceVerification>.Failure(error!.Value);
        }
        var distance = FaceModel.Distance(template.Descriptor, descriptor);
        return FaceResult<FaceVerification>.Success(new FaceVerification(distance <= _options.Threshold, distance, _options.Threshold));
    }

    /// <summary>Compares the faces of two pictures (what <c>countersign face compare</c> runs).</summary>
    public FaceResult<FaceVerification> Compare(ReadOnlySpan<byte> imageA, ReadOnlySpan<byte> imageB)
    {
        var a = Enrol(imageA);
        return a.Succeeded ? Verify(a.Value, imageB) : FaceResult<FaceVerification>.Failure(a.Error!.Value);
    }

    private (float[]? Descriptor, FaceError? Error) Describe(ReadOnlySpan<byte> bytes)
    {
        var (image, error) = ImageDecoder.Decode(bytes);
        if (image is null)
        {
            return (null, error);
        }
        return Describe(image);
    }

    internal (float[]? Descriptor, FaceError? Error) Describe(RgbImage image)
    {
        var model = FaceModel.Shared;
        var faces = new List<Networks.Detection>();
        foreach (var size in _options.DetectorInputSizes)
        {
            faces = model.Detect(image, _options.DetectionScore, size);
            if (faces.Count > 0)
            {
                break;
            }
        }
        if (faces.Count == 0)
        {
            return (null, FaceError.NoFace);
        }
        var usable = faces.FindAll(f => Math.Min(f.Width, f.Height) >= _options.MinFaceSize);
        if (usable.Count > 1)
        {
            return (null, FaceError.MultipleFaces);
        }
        if (usable.Count == 0)
        {
            return (null, FaceError.FaceTooSmall);
        }
        var face = model.Analyse(image, usable[0]);
        if (face.Aligned.Width < _options.MinFaceSize / 2 || face.Aligned.Height < _options.MinFaceSize / 2 ||
            !float.IsFinite(face.Descriptor[0]))
        {
            // The landmarks put the face mostly outside the picture.
            return (null, FaceError.FaceTooSmall);
        }
        return (face.Descriptor, null);
    }
}
