using Countersign.Face;

/// <summary>Picture edits for the evaluation's augmentations, on decoded RGB.</summary>
internal static class Pictures
{
    public static string SamplesDir { get; set; } = Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", "..",
        "src", "Countersign.Face", "Model", "node_modules", "@vladmandic", "face-api", "demo");

    public static byte[] Sample(int n) => File.ReadAllBytes(Path.Combine(SamplesDir, $"sample{n}.jpg"));

    public static RgbImage Decode(byte[] bytes) =>
        ImageDecoder.Decode(bytes).Image ?? throw new InvalidOperationException("does not decode");

    public static byte[] Png(RgbImage image)
    {
        using var stream = new MemoryStream();
        new StbImageWriteSharp.ImageWriter().WritePng(image.Pixels, image.Width, image.Height, StbImageWriteSharp.ColorComponents.RedGreenBlue, stream);
        return stream.ToArray();
    }

    public static byte[] Jpeg(RgbImage image, int quality)
    {
        using var stream = new MemoryStream();
        new StbImageWriteSharp.ImageWriter().WriteJpg(image.Pixels, image.Width, image.Height, StbImageWriteSharp.ColorComponents.RedGreenBlue, stream, quality);
        return stream.ToArray();
    }

    public static RgbImage Crop(RgbImage image, int x, int y, int w, int h)
    {
        x = Math.Clamp(x, 0, image.Width - 1);
        y = Math.Clamp(y, 0, image.Height - 1);
        w = Math.Min(w, image.Width - x);
        h = Math.Min(h, image.Height - y);
        var dst = new byte[w * h * 3];
        for (var r = 0; r < h; r++)
        {
            Array.Copy(image.Pixels, ((y + r) * image.Width + x) * 3, dst, r * w * 3, w * 3);
        }
        return new RgbImage(w, h, dst);
    }

    /// <summary>Pixel values × factor (clamped): brightness ±30% is 1.3 / 0.7.</summary>
    public static RgbImage Brightness(RgbImage image, double factor)
    {
        var dst = new byte[image.Pixels.Length];
        for (var i = 0; i < dst.Length; i++)
        {
            dst[i] = (byte)Math.Clamp(Math.Round(image.Pixels[i] * factor), 0, 255);
        }
        return new RgbImage(image.Width, image.Height, dst);
    }

    public static RgbImage Mirror(RgbImage image) => image.Oriented(2);

    /// <summary>Bilinear resize to the given size.</summary>
    public static RgbImage Scale(RgbImage image, int w, int h) => Warp(image, w, h, (x, y) => ((x + 0.5) * image.Width / w - 0.5, (y + 0.5) * image.Height / h - 0.5));

    /// <summary>Rotation about the centre by <paramref name="degrees"/> (same canvas; corners filled grey).</summary>
    public static RgbImage Rotate(RgbImage image, double degrees)
    {
        var a = degrees * Math.PI / 180;
        var (cos, sin) = (Math.Cos(a), Math.Sin(a));
        var (cx, cy) = ((image.Width - 1) / 2.0, (image.Height - 1) / 2.0);
        return Warp(image, image.Width, image.Height, (x, y) => (cos * (x - cx) + sin * (y - cy) + cx, -sin * (x - cx) + cos * (y - cy) + cy));
    }

    private static RgbImage Warp(RgbImage image, int w, int h, Func<int, int, (double X, double Y)> source)
    {
        var dst = new byte[w * h * 3];
        for (var y = 0; y < h; y++)
        {
            for (var x = 0; x < w; x++)
            {
                var (sx, sy) = source(x, y);
                var x0 = (int)Math.Floor(sx);
                var y0 = (int)Math.Floor(sy);
                var fx = sx - x0;
                var fy = sy - y0;
                for (var c = 0; c < 3; c++)
                {
                    double P(int px, int py) => (uint)px < (uint)image.Width && (uint)py < (uint)image.Height
                        ? image.Pixels[(py * image.Width + px) * 3 + c] : 128;
                    var v = (P(x0, y0) * (1 - fx) + P(x0 + 1, y0) * fx) * (1 - fy) + (P(x0, y0 + 1) * (1 - fx) + P(x0 + 1, y0 + 1) * fx) * fy;
                    dst[(y * w + x) * 3 + c] = (byte)Math.Clamp(Math.Round(v), 0, 255);
                }
            }
        }
        return new RgbImage(w, h, dst);
    }

    /// <summary>Three passes of a box blur of the given radius (close to a Gaussian of σ ≈ radius).</summary>
    public static RgbImage Blur(RgbImage image, int radius)
    {
        var (w, h) = (image.Width, image.Height);
        var a = image.Pixels.ToArray();
        var b = new byte[a.Length];
        for (var pass = 0; pass < 3; pass++)
        {
            BoxPass(a, b, w, h, radius, horizontal: true);
            BoxPass(b, a, w, h, radius, horizontal: false);
        }
        return new RgbImage(w, h, a);
    }

    private static void BoxPass(byte[] src, byte[] dst, int w, int h, int r, bool horizontal)
    {
        var (lines, length) = horizontal ? (h, w) : (w, h);
        for (var line = 0; line < lines; line++)
        {
            int At(int i) => horizontal ? (line * w + i) * 3 : (i * w + line) * 3;
            for (var c = 0; c < 3; c++)
            {
                var sum = 0;
                for (var i = -r; i <= r; i++)
                {
                    sum += src[At(Math.Clamp(i, 0, length - 1)) + c];
                }
                for (var i = 0; i < length; i++)
                {
                    dst[At(i) + c] = (byte)(sum / (2 * r + 1));
                    sum += src[At(Math.Min(i + r + 1, length - 1)) + c] - src[At(Math.Max(i - r, 0)) + c];
                }
            }
        }
    }
}
