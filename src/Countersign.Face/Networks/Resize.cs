namespace Countersign.Face.Networks;

/// <summary>
/// Builds a network's input: a region of the image, zero-padded to a square, resized bilinearly to
/// <c>size × size</c> and normalised as <c>(x − mean) / 255</c>, all in one pass over the output pixels.
/// The resize is TensorFlow's with <c>alignCorners = false, halfPixelCenters = false</c>
/// (source = destination · in / out, floor, clamp at the last row/column), interpolating along x first.
/// </summary>
internal static class Resize
{
    /// <param name="image">The decoded picture.</param>
    /// <param name="region">The part of the picture to use (inside the picture).</param>
    /// <param name="padLeft">Zero columns before the region in the square.</param>
    /// <param name="padTop">Zero rows before the region in the square.</param>
    /// <param name="side">The square's side (region plus padding).</param>
    /// <param name="size">The network's input size.</param>
    /// <param name="mean">Per-channel mean subtracted before dividing by 255.</param>
    public static Tensor SquareInput(RgbImage image, PixelRect region, int padLeft, int padTop, int side, int size, ReadOnlySpan<float> mean)
    {
        var t = new Tensor(size, size, 3);
        var dst = t.Span;
        var scale = (float)side / size;
        Span<int> x0 = stackalloc int[size];
        Span<int> x1 = stackalloc int[size];
        Span<float> fx = stackalloc float[size];
        for (var ox = 0; ox < size; ox++)
        {
            var sx = ox * scale;
            x0[ox] = (int)MathF.Floor(sx);
            x1[ox] = Math.Min((int)MathF.Ceiling(sx), side - 1);
            fx[ox] = sx - x0[ox];
        }
        var rgb = image.Pixels;
        for (var oy = 0; oy < size; oy++)
        {
            var sy = oy * scale;
            var y0 = (int)MathF.Floor(sy);
            var y1 = Math.Min((int)MathF.Ceiling(sy), side - 1);
            var fy = sy - y0;
            var rowTop = y0 - padTop;
            var rowBottom = y1 - padTop;
            for (var ox = 0; ox < size; ox++)
            {
                var colLeft = x0[ox] - padLeft;
                var colRight = x1[ox] - padLeft;
                var o = (oy * size + ox) * 3;
                for (var c = 0; c < 3; c++)
                {
                    var tl = Sample(rgb, image.Width, region, colLeft, rowTop, c);
                    var tr = Sample(rgb, image.Width, region, colRight, rowTop, c);
                    var bl = Sample(rgb, image.Width, region, colLeft, rowBottom, c);
                    var br = Sample(rgb, image.Width, region, colRight, rowBottom, c);
                    var top = tl + (tr - tl) * fx[ox];
                    var bottom = bl + (br - bl) * fx[ox];
                    var v = top + (bottom - top) * fy;
                    dst[o + c] = (v - mean[c]) / 255f;
                }
            }
        }
        return t;
    }

    private static float Sample(byte[] rgb, int stride, PixelRect region, int x, int y, int c) =>
        (uint)x < (uint)region.Width && (uint)y < (uint)region.Height
            ? rgb[((region.Y + y) * stride + region.X + x) * 3 + c]
            : 0f;
}

/// <summary>An integer rectangle in pixels.</summary>
internal readonly record struct PixelRect(int X, int Y, int Width, int Height);
