namespace Countersign.Face;

/// <summary>
/// How usable an aligned face is for a template: its brightness and its sharpness, measured on the
/// recogniser's own crop (the dlib-aligned square) box-averaged to 64×64 grey, so the figures do not depend
/// on the photo's resolution.
/// </summary>
/// <param name="Brightness">Mean luma of the crop, 0–255.</param>
/// <param name="Sharpness">
/// Variance of the 4-neighbour Laplacian over the variance of the grey values: the share of the crop's
/// contrast that is fine detail. Blur removes detail long before it removes contrast, and dividing by the
/// contrast keeps a dim but sharp face from counting as blurred.
/// </param>
internal readonly record struct FaceQuality(double Brightness, double Sharpness)
{
    private const int Grid = 64;

    public static FaceQuality Measure(RgbImage image, Networks.PixelRect crop)
    {
        var sum = new double[Grid * Grid];
        var count = new int[Grid * Grid];
        var rgb = image.Pixels;
        for (var y = 0; y < crop.Height; y++)
        {
            var gy = y * Grid / crop.Height;
            var row = (crop.Y + y) * image.Width + crop.X;
            for (var x = 0; x < crop.Width; x++)
            {
                var p = (row + x) * 3;
                var cell = gy * Grid + x * Grid / crop.Width;
                sum[cell] += 0.299 * rgb[p] + 0.587 * rgb[p + 1] + 0.114 * rgb[p + 2];
                count[cell]++;
            }
        }
        var grey = new double[Grid * Grid];
        for (var i = 0; i < grey.Length; i++)
        {
            // A crop under 64 px leaves cells empty: take the previous one (the face is refused as too small anyway).
            grey[i] = count[i] > 0 ? sum[i] / count[i] : i > 0 ? grey[i - 1] : 0;
        }
        var mean = grey.Average();
        var variance = grey.Sum(g => (g - mean) * (g - mean)) / grey.Length;
        double lapSum = 0, lapSquares = 0;
        var n = 0;
        for (var y = 1; y < Grid - 1; y++)
        {
            for (var x = 1; x < Grid - 1; x++)
            {
                var i = y * Grid + x;
                var l = grey[i - 1] + grey[i + 1] + grey[i - Grid] + grey[i + Grid] - 4 * grey[i];
                lapSum += l;
                lapSquares += l * l;
                n++;
            }
        }
        var lapVariance = lapSquares / n - (lapSum / n) * (lapSum / n);
        return new FaceQuality(mean, variance > 0 ? lapVariance / variance : 0);
    }
}
