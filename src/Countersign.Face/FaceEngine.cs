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
    public const double DefaultThreshold = 0.55;

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

    /// <summary>
    /// A template of the single face in <paramref name="image"/>. Refuses a face that would make a poor
    /// template: too small, too blurred or too dark (<see cref="FaceOptions.MinFaceSize"/>,
    /// <see cref="FaceOptions.MinSharpness"/>, <see cref="FaceOptions.MinBrightness"/>).
    /// </summary>
    public FaceResult<FaceTemplate> Enrol(ReadOnlySpan<byte> image)
    {
        var (descriptor, error) = DescribeForEnrolment(image);
        return descriptor is null
            ? FaceResult<FaceTemplate>.Failure(error!.Value)
            : FaceResult<FaceTemplate>.Success(new FaceTemplate(FaceModel.Shared.Id, descriptor));
    }

    /// <summary>
    /// A template from several photos of one person: each must pass <see cref="Enrol(ReadOnlySpan{byte})"/>,
    /// every two must match each other at the threshold (else <see cref="FaceError.PhotosDiffer"/>), and the
    /// template holds the mean descriptor. Averaging photos taken in different light and pose cancels part of
    /// what is particular to each, so later photos land closer to it than to any single one (docs/face.md).
    /// </summary>
    public FaceResult<FaceTemplate> Enrol(IReadOnlyList<byte[]> images)
    {
        ArgumentNullException.ThrowIfNull(images);
        if (images.Count == 0)
        {
            throw new ArgumentException("at least one photo", nameof(images));
        }
        var descriptors = new List<float[]>(images.Count);
        foreach (var image in images)
        {
            var (descriptor, error) = DescribeForEnrolment(image);
            if (descriptor is null)
            {
                return FaceResult<FaceTemplate>.Failure(error!.Value);
            }
            if (descriptors.Exists(d => FaceModel.Distance(d, descriptor) > _options.Threshold))
            {
                return FaceResult<FaceTemplate>.Failure(FaceError.PhotosDiffer);
            }
            descriptors.Add(descriptor);
        }
        var mean = new float[FaceModel.DescriptorLength];
        foreach (var d in descriptors)
        {
            System.Numerics.Tensors.TensorPrimitives.Add(mean, d, mean);
        }
        System.Numerics.Tensors.TensorPrimitives.Divide(mean, descriptors.Count, mean);
        return FaceResult<FaceTemplate>.Success(new FaceTemplate(FaceModel.Shared.Id, mean));
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
        var (face, faceError) = Analyse(image);
        return (face?.Descriptor, faceError);
    }

    private (float[]? Descriptor, FaceError? Error) DescribeForEnrolment(ReadOnlySpan<byte> bytes)
    {
        var (image, error) = ImageDecoder.Decode(bytes);
        if (image is null)
        {
            return (null, error);
        }
        var (face, faceError) = Analyse(image);
        if (face is null)
        {
            return (null, faceError);
        }
        // Checked at enrolment only: a poor template fails its owner at every later login, while a poor
        // probe costs one retry (and its distance already says it does not match).
        var quality = FaceQuality.Measure(image, face.Aligned);
        if (quality.Brightness < _options.MinBrightness)
        {
            return (null, FaceError.FaceTooDark);
        }
        if (quality.Sharpness < _options.MinSharpness)
        {
            return (null, FaceError.FaceTooBlurred);
        }
        return (face.Descriptor, null);
    }

    /// <summary>The single usable face of <paramref name="image"/>, described; or why there is none.</summary>
    internal (AnalysedFace? Face, FaceError? Error) Analyse(RgbImage image)
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
        // A box mostly inside a better one is a part of that face (the detector's NMS only drops boxes that
        // overlap by IoU > 0.4, and a frame-filling face yields a second, smaller box within it), not a second person.
        faces.Sort((a, b) => b.Score.CompareTo(a.Score));
        var distinct = new List<Networks.Detection>();
        foreach (var f in faces)
        {
            if (distinct.TrueForAll(k => Networks.TinyFaceDetector.Intersection(k, f) <= 0.5 * f.Width * f.Height))
            {
                distinct.Add(f);
            }
        }
        var usable = distinct.FindAll(f => Math.Min(f.Width, f.Height) >= _options.MinFaceSize);
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
        return (face, null);
    }
}
