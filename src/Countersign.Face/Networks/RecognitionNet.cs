namespace Countersign.Face.Networks;

/// <summary>
/// face-api's <c>FaceRecognitionNet</c>: the dlib ResNet-29 family, 150×150 RGB → 128-d descriptor,
/// plus the dlib-style alignment crop in front of it (<c>FaceLandmarks.alignDlib</c>).
/// </summary>
internal sealed class RecognitionNet
{
    public const int InputSize = 150;
    public const int DescriptorLength = 128;

    private readonly ConvWeights _stem;
    private readonly (ConvWeights Conv1, ConvWeights Conv2, bool Down)[] _blocks;
    private readonly float[] _fc;

    public RecognitionNet(WeightMap weights)
    {
        _stem = new ConvWeights(
            weights.Get("conv32_down/conv/filters", 7, 7, 3, 32), weights.Get("conv32_down/conv/bias", 32),
            weights.Get("conv32_down/scale/weights", 32), weights.Get("conv32_down/scale/biases", 32), 7, 7, 3, 32, Activation.Relu);
        var layout = new (string Name, int In, int Out, bool Down)[]
        {
            ("conv32_1", 32, 32, false), ("conv32_2", 32, 32, false), ("conv32_3", 32, 32, false),
            ("conv64_down", 32, 64, true), ("conv64_1", 64, 64, false), ("conv64_2", 64, 64, false), ("conv64_3", 64, 64, false),
            ("conv128_down", 64, 128, true), ("conv128_1", 128, 128, false), ("conv128_2", 128, 128, false),
            ("conv256_down", 128, 256, true), ("conv256_1", 256, 256, false), ("conv256_2", 256, 256, false),
            ("conv256_down_out", 256, 256, true),
        };
        _blocks = [.. layout.Select(l => (
            weights.ScaledConv(l.Name + "/conv1", l.In, l.Out, relu: true),
            weights.ScaledConv(l.Name + "/conv2", l.Out, l.Out, relu: false),
            l.Down))];
        _fc = weights.Get("fc", 256, 128);
    }

    /// <summary>alignDlib: a square around the eyes and mouth, sized from the eye–mouth distance.</summary>
    public static (double X, double Y, double Size) AlignedBox(ReadOnlySpan<PointD> landmarks)
    {
        var leftEye = Centre(landmarks[36..42]);
        var rightEye = Centre(landmarks[42..48]);
        var mouth = Centre(landmarks[48..68]);
        static double Distance(PointD a, PointD b) => Math.Sqrt((a.X - b.X) * (a.X - b.X) + (a.Y - b.Y) * (a.Y - b.Y));
        var eyeToMouth = (Distance(mouth, leftEye) + Distance(mouth, rightEye)) / 2;
        var size = Math.Floor(eyeToMouth / 0.45);
        var refX = (leftEye.X + rightEye.X + mouth.X) / 3;
        var refY = (leftEye.Y + rightEye.Y + mouth.Y) / 3;
        return (Math.Floor(Math.Max(0, refX - 0.5 * size)), Math.Floor(Math.Max(0, refY - 0.43 * size)), size);
    }

    private static PointD Centre(ReadOnlySpan<PointD> points)
    {
        double x = 0, y = 0;
        foreach (var p in points)
        {
            x += p.X;
            y += p.Y;
        }
        return new PointD(x / points.Length, y / points.Length);
    }

    /// <summary>The descriptor of the aligned face; <paramref name="descriptor"/> receives 128 floats.</summary>
    public void Describe(RgbImage image, PixelRect crop, Span<float> descriptor)
    {
        var (padLeft, padTop, side) = LandmarkNet.CentrePad(crop.Width, crop.Height);
        using var input = Resize.SquareInput(image, crop, padLeft, padTop, side, InputSize, LandmarkNet.Mean);
        using var stem = Ops.Conv(input, _stem, 2, 0, 0, 72, 72);
        var x = Ops.MaxPool(stem, 3, 2, 0, 0, 35, 35);
        foreach (var (conv1, conv2, down) in _blocks)
        {
            var next = down ? ResidualDown(x, conv1, conv2) : Residual(x, conv1, conv2);
            x.Dispose();
            x = next;
        }
        using var features = x;
        // Mean over the spatial cells, then fc [256, 128] without bias.
        Span<float> mean = stackalloc float[256];
        mean.Clear();
        var data = features.Span;
        for (var p = 0; p < features.Pixels; p++)
        {
            System.Numerics.Tensors.TensorPrimitives.Add(mean, data.Slice(p * 256, 256), mean);
        }
        System.Numerics.Tensors.TensorPrimitives.Divide(mean, features.Pixels, mean);
        Ops.Gemm(mean, 1, 256, _fc, DescriptorLength, descriptor);
    }

    private static Tensor Residual(Tensor x, ConvWeights conv1, ConvWeights conv2)
    {
        using var a = Ops.Conv(x, conv1, 1, 1, 1, x.Height, x.Width);
        var b = Ops.Conv(a, conv2, 1, 1, 1, a.Height, a.Width);
        Ops.AddInPlace(b, x, relu: true);
        return b;
    }

    private static Tensor ResidualDown(Tensor x, ConvWeights conv1, ConvWeights conv2)
    {
        var size = (x.Height - 3) / 2 + 1;
        using var a = Ops.Conv(x, conv1, 2, 0, 0, size, size);
        using var b = Ops.Conv(a, conv2, 1, 1, 1, size, size);
        using var pooled = Ops.AvgPool(x, 2, 2);
        // The shortcut is the pooled input with zero channels appended; when the sizes differ the main
        // branch gets one zero row at the bottom and one zero column at the right.
        var result = new Tensor(pooled.Height, pooled.Width, b.Channels);
        var dst = result.Span;
        dst.Clear();
        var pc = pooled.Channels;
        var c = b.Channels;
        var ps = pooled.Span;
        var bs = b.Span;
        for (var y = 0; y < pooled.Height; y++)
        {
            for (var xx = 0; xx < pooled.Width; xx++)
            {
                var o = dst.Slice((y * pooled.Width + xx) * c, c);
                ps.Slice((y * pooled.Width + xx) * pc, pc).CopyTo(o);
                if (y < size && xx < size)
                {
                    System.Numerics.Tensors.TensorPrimitives.Add(o, bs.Slice((y * size + xx) * c, c), o);
                }
            }
        }
        Ops.Relu(result);
        return result;
    }
}
