using System.Text.Json;

namespace Countersign.Face.Tests;

internal static class Fixtures
{
    public static string Dir => Path.Combine(AppContext.BaseDirectory, "Fixtures");

    public static byte[] Read(params string[] parts) => File.ReadAllBytes(Path.Combine([Dir, .. parts]));

    /// <summary>demo/sample1..6.jpg of @vladmandic/face-api 1.7.15 (restored by the library's build).</summary>
    public static byte[] Sample(int n) => Read("samples", $"sample{n}.jpg");

    public static RgbImage Decode(byte[] bytes)
    {
        var (image, error) = ImageDecoder.Decode(bytes);
        return image ?? throw new InvalidOperationException($"fixture does not decode: {error}");
    }

    public static JsonElement Reference { get; } =
        JsonDocument.Parse(File.ReadAllBytes(Path.Combine(Dir, "reference", "reference.json"))).RootElement;

    /// <summary>An RGB picture encoded as PNG (lossless) or JPEG at <paramref name="jpegQuality"/>.</summary>
    public static byte[] Encode(RgbImage image, int jpegQuality = 0)
    {
        using var stream = new MemoryStream();
        var writer = new StbImageWriteSharp.ImageWriter();
        if (jpegQuality > 0)
        {
            writer.WriteJpg(image.Pixels, image.Width, image.Height, StbImageWriteSharp.ColorComponents.RedGreenBlue, stream, jpegQuality);
        }
        else
        {
            writer.WritePng(image.Pixels, image.Width, image.Height, StbImageWriteSharp.ColorComponents.RedGreenBlue, stream);
        }
        return stream.ToArray();
    }

    /// <summary>The PNG chunk CRC (ISO 3309 / ITU-T V.42).</summary>
    public static uint Crc32(ReadOnlySpan<byte> data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            crc ^= b;
            for (var k = 0; k < 8; k++)
            {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
            }
        }
        return ~crc;
    }
}
