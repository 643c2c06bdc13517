namespace Countersign.Face;

/// <summary>A decoded picture: 8-bit RGB, row-major, upright (EXIF orientation already applied).</summary>
internal sealed class RgbImage
{
    public RgbImage(int width, int height, byte[] pixels)
    {
        if (width <= 0 || height <= 0 || pixels.Length < (long)width * height * 3)
        {
            throw new ArgumentException("pixel buffer does not match the size", nameof(pixels));
        }
        Width = width;
        Height = height;
        Pixels = pixels;
    }

    public int Width { get; }
    public int Height { get; }
    public byte[] Pixels { get; }

    /// <summary>
    /// Applies an EXIF orientation (TIFF tag 274): 1 upright, 2 mirrored, 3 rotated 180°, 4 flipped,
    /// 5 transposed, 6 rotated 90° clockwise to display, 7 transverse, 8 rotated 90° anticlockwise.
    /// </summary>
    public RgbImage Oriented(int orientation)
    {
        if (orientation is < 2 or > 8)
        {
            return this;
        }
        var swap = orientation >= 5;
        var w = swap ? Height : Width;
        var h = swap ? Width : Height;
        var dst = new byte[w * h * 3];
        for (var y = 0; y < h; y++)
        {
            for (var x = 0; x < w; x++)
            {
                // (sx, sy): where the displayed pixel (x, y) is stored.
                var (sx, sy) = orientation switch
                {
                    2 => (Width - 1 - x, y),
                    3 => (Width - 1 - x, Height - 1 - y),
                    4 => (x, Height - 1 - y),
                    5 => (y, x),
                    6 => (y, Height - 1 - x),
                    7 => (Width - 1 - y, Height - 1 - x),
                    _ => (Width - 1 - y, x),
                };
                var s = (sy * Width + sx) * 3;
                var d = (y * w + x) * 3;
                dst[d] = Pixels[s];
                dst[d + 1] = Pixels[s + 1];
                dst[d + 2] = Pixels[s + 2];
            }
        }
        return new RgbImage(w, h, dst);
    }
}
