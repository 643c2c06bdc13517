namespace Countersign.Face.Networks;

/// <summary>A point in image pixels.</summary>
internal readonly record struct PointD(double X, double Y);

/// <summary>
/// face-api's 68-point landmark net (<c>FaceLandmark68Net</c>: four dense blocks, 7×7 average pool, fully
/// connected 256→136), including its crop, centre padding and post-processing.
/// </summary>
internal sealed class LandmarkNet
{
    public const int InputSize = 112;
    internal static readonly float[] Mean = [122.782f, 117.001f, 104.298f];

    private readonly (ConvWeights? Plain, SeparableWeights? First, SeparableWeights[] Others)[] _blocks;
    private readonly float[] _fcWeights;
    private readonly float[] _fcBias;

    public LandmarkNet(WeightMap weights)
    {
        _blocks = new (ConvWeights?, SeparableWeights?, SeparableWeights[])[4];
        var channels = new[] { 32, 64, 128, 256 };
        for (var b = 0; b < 4; b++)
        {
            var input = b == 0 ? 3 : channels[b - 1];
            var c = channels[b];
            var prefix = $"dense{b}/";
            _blocks[b] = (
                b == 0 ? weights.Conv(prefix + "conv0", 3, 3, c, Activation.Relu) : null,
                b == 0 ? null : weights.Separable(prefix + "conv0", input, c, Activation.Relu),
                [.. Enumerable.Range(1, 3).Select(i => weights.Separable(prefix + "conv" + i, c, c, Activation.None))]);
        }
        _fcWeights = weights.Get("fc/weights", 256, 136);
        _fcBias = weights.Get("fc/bias", 136);
    }

    /// <summary>The 68 landmarks of the face in <paramref name="detection"/>, in image pixels.</summary>
    public PointD[] Detect(RgbImage image, Detection detection)
    {
        // extractFaceTensors: the box clipped at the image borders, then floored.
        var crop = ClipAndFloor(detection.X, detection.Y, detection.Width, detection.Height, image.Width, image.Height);
        var relative = Run(image, crop);
        var points = new PointD[68];
        for (var i = 0; i < 68; i++)
        {
            // FaceLandmarks: relative position × crop size + the (unfloored) detection origin.
            points[i] = new PointD(relative[2 * i] * crop.Width + detection.X, relative[2 * i + 1] * crop.Height + detection.Y);
        }
        return points;
    }

    /// <summary>Box.clipAtImageBorders: clip to the image, then floor each of x, y, width, height.</summary>
    internal static PixelRect ClipAndFloor(double x, double y, double width, double height, int imageWidth, int imageHeight)
    {
        var cx = Math.Max(x, 0);
        var cy = Math.Max(y, 0);
        var w = Math.Min(x + width - cx, imageWidth - cx);
        var h = Math.Min(y + height - cy, imageHeight - cy);
        return new PixelRect((int)Math.Floor(cx), (int)Math.Floor(cy), (int)Math.Floor(w), (int)Math.Floor(h));
    }

    /// <summary>padToSquare(centred): round(diff / 2) zero rows/columns after, the rest before.</summary>
    internal static (int PadLeft, int PadTop, int Side) CentrePad(int width, int height)
    {
        var diff = Math.Abs(height - width);
        var after = (int)Math.Round(diff * 0.5, MidpointRounding.AwayFromZero);
        var before = diff - after;
        return width < height ? (before, 0, height) : (0, before, width);
    }

    private double[] Run(RgbImage image, PixelRect crop)
    {
        var (padLeft, padTop, side) = CentrePad(crop.Width, crop.Height);
        var x = Resize.SquareInput(image, crop, padLeft, padTop, side, InputSize, Mean);
        foreach (var (plain, first, others) in _blocks)
        {
            var next = DenseBlock(x, plain, first, others);
            x.Dispose();
            x = next;
        }
        using var features = x;
        using var pooled = Ops.AvgPool(features, 7, 2);
        var fc = new float[136];
        Ops.Gemm(pooled.Span, 1, 256, _fcWeights, 136, fc);

        // postProcess: undo the centre padding (face-api assumes |w − h| / 2 on each side) and the scale.
        var scale = (double)InputSize / Math.Max(crop.Width, crop.Height);
        var w = crop.Width * scale;
        var h = crop.Height * scale;
        var padX = w < h ? Math.Abs(w - h) / 2 : 0;
        var padY = h < w ? Math.Abs(w - h) / 2 : 0;
        var result = new double[136];
        for (var i = 0; i < 68; i++)
        {
            // TensorFlow.js does these in float32.
            result[2 * i] = (float)((float)((fc[2 * i] + _fcBias[2 * i]) * (float)InputSize) - (float)padX) / (float)w;
            result[2 * i + 1] = (float)((float)((fc[2 * i + 1] + _fcBias[2 * i + 1]) * (float)InputSize) - (float)padY) / (float)h;
        }
        return result;
    }

    private static Tensor DenseBlock(Tensor x, ConvWeights? plain, SeparableWeights? first, SeparableWeights[] rest)
    {
        var (size, before) = Ops.Same(x.Height, 3, 2);
        Tensor o1;
        if (plain is not null)
        {
            o1 = Ops.Conv(x, plain, 2, before, before, size, size);
        }
        else
        {
            using var dw = Ops.Depthwise3x3(x, first!.Depthwise, 2, before, before, size, size);
            o1 = Ops.Conv(dw, first.Pointwise, 1, 0, 0, size, size);
        }
        using var sum = new Tensor(size, size, o1.Channels);
        o1.Span.CopyTo(sum.Span);
        using (o1)
        {
            foreach (var w in rest)
            {
                // in_k = relu(o1 + … + o_{k-1}); o_k = sep(in_k); the sum keeps o1 + … + o_k.
                using var input = new Tensor(size, size, sum.Channels);
                sum.Span.CopyTo(input.Span);
                Ops.Relu(input);
                using var dw = Ops.Depthwise3x3(input, w.Depthwise, 1, 1, 1, size, size);
                using var ok = Ops.Conv(dw, w.Pointwise, 1, 0, 0, size, size);
                Ops.AddInPlace(sum, ok, relu: false);
            }
        }
        var result = new Tensor(size, size, sum.Channels);
        sum.Span.CopyTo(result.Span);
        Ops.Relu(result);
        return result;
    }
}
