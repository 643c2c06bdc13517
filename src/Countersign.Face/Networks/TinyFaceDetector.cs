namespace Countersign.Face.Networks;

/// <summary>A detected face: box in image pixels (not clipped to the image) and the detector's score.</summary>
internal readonly record struct Detection(double X, double Y, double Width, double Height, double Score)
{
    public double Right => X + Width;
    public double Bottom => Y + Height;
}

/// <summary>
/// face-api's tiny face detector (a Tiny-YOLOv2 with separable convolutions, 13×13 cells × 5 anchors at
/// input 416), reproduced operation for operation from <c>TinyYolov2Base.runMobilenet</c> and
/// <c>extractBoxes</c>.
/// </summary>
internal sealed class TinyFaceDetector
{
    public const int DefaultInputSize = 416;
    private const double IouThreshold = 0.4;
    private static readonly float[] Mean = [117.001f, 114.697f, 97.404f];
    private static readonly (double W, double H)[] Anchors =
    [
        (1.603231, 2.094468), (6.041143, 7.080126), (2.882459, 3.518061), (4.266906, 5.178857), (9.041765, 10.66308),
    ];

    private readonly ConvWeights _conv0;
    private readonly SeparableWeights[] _separable;
    private readonly ConvWeights _conv8;

    public TinyFaceDetector(WeightMap weights)
    {
        _conv0 = weights.Conv("conv0", 3, 3, 16, Activation.Leaky);
        _separable =
        [
            weights.Separable("conv1", 16, 32, Activation.Leaky),
            weights.Separable("conv2", 32, 64, Activation.Leaky),
            weights.Separable("conv3", 64, 128, Activation.Leaky),
            weights.Separable("conv4", 128, 256, Activation.Leaky),
            weights.Separable("conv5", 256, 512, Activation.Leaky),
        ];
        _conv8 = weights.Conv("conv8", 1, 512, 25, Activation.None);
    }

    /// <summary>Faces scoring above <paramref name="scoreThreshold"/>, after non-maximum suppression, best first.</summary>
    public List<Detection> Detect(RgbImage image, double scoreThreshold, int inputSize = DefaultInputSize)
    {
        if (inputSize % 32 != 0 || inputSize < 64)
        {
            throw new ArgumentOutOfRangeException(nameof(inputSize), inputSize, "a multiple of 32");
        }
        // Pad at the bottom/right to a square (toBatchTensor(inputSize, false)), resize, normalise.
        var side = Math.Max(image.Width, image.Height);
        using var input = Resize.SquareInput(image, new PixelRect(0, 0, image.Width, image.Height), 0, 0, side, inputSize, Mean);

        var x = Ops.Conv(input, _conv0, 1, 0, 0, inputSize - 2, inputSize - 2);
        for (var i = 0; i < _separable.Length; i++)
        {
            var (pooledSize, before) = Ops.Same(x.Height, 2, 2);
            var pooled = Ops.MaxPool(x, 2, 2, before, before, pooledSize, pooledSize);
            x.Dispose();
            x = Separable(pooled, _separable[i]);
            pooled.Dispose();
        }
        var (size, pad) = Ops.Same(x.Height, 2, 1);
        using (var last = x)
        {
            x = Ops.MaxPool(last, 2, 1, pad, pad, size, size);
        }
        using var features = x;
        using var output = Ops.Conv(features, _conv8, 1, 0, 0, features.Height, features.Width);
        return Decode(output, image.Width, image.Height, scoreThreshold, inputSize);
    }

    /// <summary>Pad 1, depthwise 3×3 valid, pointwise + bias, leaky ReLU (the detector's separable block).</summary>
    private static Tensor Separable(Tensor x, SeparableWeights w)
    {
        using var depthwise = Ops.Depthwise3x3(x, w.Depthwise, 1, 1, 1, x.Height, x.Width);
        return Ops.Conv(depthwise, w.Pointwise, 1, 0, 0, depthwise.Height, depthwise.Width);
    }

    private static List<Detection> Decode(Tensor output, int width, int height, double scoreThreshold, int inputSize)
    {
        var cells = output.Height;
        var scale = (double)inputSize / Math.Max(width, height);
        var correctionX = (double)inputSize / Math.Round(width * scale);
        var correctionY = (double)inputSize / Math.Round(height * scale);
        var data = output.Span;
        var candidates = new List<Detection>();
        for (var row = 0; row < cells; row++)
        {
            for (var col = 0; col < cells; col++)
            {
                for (var anchor = 0; anchor < Anchors.Length; anchor++)
                {
                    var o = (row * cells + col) * 25 + anchor * 5;
                    var score = Sigmoid(data[o + 4]);
                    if (score <= scoreThreshold)
                    {
                        continue;
                    }
                    // Relative to the image (x to its width, y to its height), as face-api keeps them.
                    var cx = (col + Sigmoid(data[o])) / cells * correctionX;
                    var cy = (row + Sigmoid(data[o + 1])) / cells * correctionY;
                    var w = Math.Exp(data[o + 2]) * Anchors[anchor].W / cells * correctionX;
                    var h = Math.Exp(data[o + 3]) * Anchors[anchor].H / cells * correctionY;
                    candidates.Add(new Detection(cx - w / 2, cy - h / 2, w, h, score));
                }
            }
        }
        // Greedy NMS on the relative boxes (face-api rescales them uniformly, which leaves IoU unchanged).
        candidates.Sort((a, b) => b.Score.CompareTo(a.Score));
        var kept = new List<Detection>();
        foreach (var c in candidates)
        {
            if (kept.TrueForAll(k => Iou(k, c) <= IouThreshold))
            {
                kept.Add(c);
            }
        }
        return kept.ConvertAll(d => new Detection(d.X * width, d.Y * height, d.Width * width, d.Height * height, d.Score));
    }

    private static double Sigmoid(float v) => 1 / (1 + Math.Exp(-v));

    internal static double Iou(Detection a, Detection b)
    {
        var inter = Intersection(a, b);
        return inter / (a.Width * a.Height + b.Width * b.Height - inter);
    }

    /// <summary>The area two boxes share.</summary>
    internal static double Intersection(Detection a, Detection b) =>
        Math.Max(0, Math.Min(a.Right, b.Right) - Math.Max(a.X, b.X)) * Math.Max(0, Math.Min(a.Bottom, b.Bottom) - Math.Max(a.Y, b.Y));
}
