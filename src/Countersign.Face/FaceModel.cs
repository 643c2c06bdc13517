using Countersign.Face.Networks;

namespace Countersign.Face;

/// <summary>One face found in a picture, with everything the pipeline derived from it.</summary>
internal sealed record AnalysedFace(Detection Detection, PointD[] Landmarks, PixelRect Aligned, float[] Descriptor);

/// <summary>
/// The three networks, read once from the weights embedded in this assembly (restored from npm by the
/// build) and shared by every <see cref="FaceEngine"/>. Read-only after construction, so any number of
/// threads can run it at once; each forward pass rents its own buffers.
/// </summary>
internal sealed class FaceModel
{
    public const int DescriptorLength = RecognitionNet.DescriptorLength;
    public const string PackageVersion = "1.7.15";

    private static readonly Lazy<FaceModel> SharedModel = new(Load, LazyThreadSafetyMode.ExecutionAndPublication);

    private FaceModel(TinyFaceDetector detector, LandmarkNet landmarks, RecognitionNet recognition, string id)
    {
        Detector = detector;
        Landmarks = landmarks;
        Recognition = recognition;
        Id = id;
    }

    public static FaceModel Shared => SharedModel.Value;

    public TinyFaceDetector Detector { get; }
    public LandmarkNet Landmarks { get; }
    public RecognitionNet Recognition { get; }

    /// <summary>Names the recogniser's exact weights; stored in every template.</summary>
    public string Id { get; }

    /// <summary>Reads and unpacks the embedded weights (public so the bench can time a cold load).</summary>
    public static FaceModel Load()
    {
        var detector = new TinyFaceDetector(Read("tiny_face_detector_model"));
        var landmarks = new LandmarkNet(Read("face_landmark_68_model"));
        var recognitionWeights = Read("face_recognition_model");
        var recognition = new RecognitionNet(recognitionWeights);
        return new FaceModel(detector, landmarks, recognition,
            $"face-api-{PackageVersion}/face_recognition_model/sha256:{recognitionWeights.Sha256[..16]}");
    }

    private static WeightMap Read(string name)
    {
        var assembly = typeof(FaceModel).Assembly;
        Stream Open(string file) => assembly.GetManifestResourceStream("Countersign.Face.Model." + file)
            ?? throw new InvalidOperationException($"the face model file {file} is not embedded: build src/Countersign.Face with npm available");
        using var manifest = Open(name + "-weights_manifest.json");
        return WeightMap.Load(manifest, Open);
    }

    /// <summary>Every face the detector finds (score &gt; <paramref name="scoreThreshold"/>), best first, without describing them.</summary>
    public List<Detection> Detect(RgbImage image, double scoreThreshold, int inputSize = TinyFaceDetector.DefaultInputSize) =>
        Detector.Detect(image, scoreThreshold, inputSize);

    /// <summary>Landmarks, alignment and descriptor for one detected face.</summary>
    public AnalysedFace Analyse(RgbImage image, Detection detection)
    {
        var descriptor = new float[DescriptorLength];
        var crop = LandmarkNet.ClipAndFloor(detection.X, detection.Y, detection.Width, detection.Height, image.Width, image.Height);
        if (crop.Width <= 0 || crop.Height <= 0)
        {
            // A box outside the picture (possible in the detector's zero padding): nothing to describe.
            descriptor.AsSpan().Fill(float.NaN);
            return new AnalysedFace(detection, [], default, descriptor);
        }
        var landmarks = Landmarks.Detect(image, detection);
        var (x, y, size) = RecognitionNet.AlignedBox(landmarks);
        var aligned = double.IsFinite(x) && double.IsFinite(y) && double.IsFinite(size)
            ? LandmarkNet.ClipAndFloor(x, y, size, size, image.Width, image.Height)
            : default;
        if (aligned.Width > 0 && aligned.Height > 0)
        {
            Recognition.Describe(image, aligned, descriptor);
        }
        else
        {
            descriptor.AsSpan().Fill(float.NaN);
        }
        return new AnalysedFace(detection, landmarks, aligned, descriptor);
    }

    public static double Distance(ReadOnlySpan<float> a, ReadOnlySpan<float> b) =>
        System.Numerics.Tensors.TensorPrimitives.Distance(a, b);
}
