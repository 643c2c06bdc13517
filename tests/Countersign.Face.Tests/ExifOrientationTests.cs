using System.Buffers.Binary;

namespace Countersign.Face.Tests;

public class ExifOrientationTests
{
    private static readonly FaceEngine Engine = new();

    /// <summary>A JPEG APP1 segment with a big-endian TIFF header and one IFD entry: Orientation.</summary>
    internal static byte[] WithJpegOrientation(byte[] jpeg, int orientation, bool littleEndian = false)
    {
        var tiff = new byte[8 + 2 + 12 + 4];
        "MM"u8.CopyTo(tiff);
        if (littleEndian)
        {
            "II"u8.CopyTo(tiff);
        }
        void U16(int at, int v)
        {
            if (littleEndian) { BinaryPrimitives.WriteUInt16LittleEndian(tiff.AsSpan(at), (ushort)v); }
            else { BinaryPrimitives.WriteUInt16BigEndian(tiff.AsSpan(at), (ushort)v); }
        }
        void U32(int at, int v)
        {
            if (littleEndian) { BinaryPrimitives.WriteUInt32LittleEndian(tiff.AsSpan(at), (uint)v); }
            else { BinaryPrimitives.WriteUInt32BigEndian(tiff.AsSpan(at), (uint)v); }
        }
        U16(2, 42);
        U32(4, 8);
        U16(8, 1);
        U16(10, 274);
        U16(12, 3);
        U32(14, 1);
        U16(18, orientation);
        byte[] payload = [.. "Exif\0\0"u8, .. tiff];
        var segment = new byte[4 + payload.Length];
        segment[0] = 0xFF;
        segment[1] = 0xE1;
        BinaryPrimitives.WriteUInt16BigEndian(segment.AsSpan(2), (ushort)(payload.Length + 2));
        payload.CopyTo(segment, 4);
        return [.. jpeg[..2], .. segment, .. jpeg[2..]];
    }

    [Theory]
    [InlineData(1, 0, 1, 2, 3, 4, 5)]
    [InlineData(2, 2, 1, 0, 5, 4, 3)]
    [InlineData(3, 5, 4, 3, 2, 1, 0)]
    [InlineData(4, 3, 4, 5, 0, 1, 2)]
    [InlineData(5, 0, 3, 1, 4, 2, 5)]
    [InlineData(6, 3, 0, 4, 1, 5, 2)]
    [InlineData(7, 5, 2, 4, 1, 3, 0)]
    [InlineData(8, 2, 5, 1, 4, 0, 3)]
    public void Every_orientation_maps_stored_pixels_to_the_displayed_ones(int orientation, params int[] expected)
    {
        // Stored 3 wide × 2 high, pixel values 0..5 row by row. Expected: the displayed picture row by row
        // (3×2 for 1–4, 2×3 for 5–8), per the TIFF 6.0 / EXIF 2.3 definition of tag 274.
        var stored = new RgbImage(3, 2, [.. Enumerable.Range(0, 6).SelectMany(v => new[] { (byte)v, (byte)v, (byte)v })]);
        var shown = stored.Oriented(orientation);
        Assert.Equal(orientation >= 5 ? (2, 3) : (3, 2), (shown.Width, shown.Height));
        Assert.Equal(expected, Enumerable.Range(0, 6).Select(i => (int)shown.Pixels[i * 3]));
    }

    [Theory]
    [InlineData(6, false)]
    [InlineData(8, true)]
    [InlineData(3, false)]
    public void A_rotated_JPEG_with_its_EXIF_orientation_verifies_like_the_upright_picture(int orientation, bool littleEndian)
    {
        var upright = FaceEngineTests.FaceCrop;
        var template = Engine.Enrol(Fixtures.Encode(upright, 95)).Value!;

        // Store the pixels the way a camera held sideways would, and say so in EXIF.
        var inverse = orientation switch { 6 => 8, 8 => 6, _ => orientation };
        var stored = Fixtures.Encode(upright.Oriented(inverse), 95);
        var tagged = WithJpegOrientation(stored, orientation, littleEndian);
        Assert.Equal(orientation, Exif.JpegOrientation(tagged));

        var withExif = Engine.Verify(template, tagged);
        Assert.True(withExif.Succeeded, withExif.Error?.Code());
        Assert.True(withExif.Value.Match);
        Assert.InRange(withExif.Value.Distance, 0, 0.1);

        // Without the tag the same pixels are a sideways or upside-down face: not the same result.
        var without = Engine.Verify(template, stored);
        Assert.True(!without.Succeeded || without.Value.Distance > withExif.Value.Distance + 0.1,
            without.Succeeded ? $"distance {without.Value.Distance}" : without.Error!.Value.Code());
    }

    [Fact]
    public void Malformed_EXIF_counts_as_upright()
    {
        var jpeg = Fixtures.Encode(FaceEngineTests.FaceCrop, 80);
        var tagged = WithJpegOrientation(jpeg, 6);
        Assert.Equal(1, Exif.JpegOrientation(WithJpegOrientation(jpeg, 9)));
        Assert.Equal(1, Exif.JpegOrientation(WithJpegOrientation(jpeg, 0)));
        // The IFD offset pointing past the end, and a segment length past the end of the file.
        var badOffset = tagged.ToArray();
        BinaryPrimitives.WriteUInt32BigEndian(badOffset.AsSpan(2 + 4 + 6 + 4), 0x7FFFFFF0);
        Assert.Equal(1, Exif.JpegOrientation(badOffset));
        var badLength = tagged.ToArray();
        BinaryPrimitives.WriteUInt16BigEndian(badLength.AsSpan(4), 0xFFFF);
        Assert.Equal(1, Exif.JpegOrientation(badLength.AsSpan(0, 200)));
        Assert.True(Engine.Enrol(badOffset).Succeeded);
    }

    [Fact]
    public void A_PNG_eXIf_chunk_is_honoured()
    {
        var upright = FaceEngineTests.FaceCrop;
        var template = Engine.Enrol(Fixtures.Encode(upright)).Value!;
        var stored = Fixtures.Encode(upright.Oriented(8));
        var exif = WithJpegOrientation([0xFF, 0xD8], 6)[(2 + 4 + 6)..]; // the TIFF block alone
        var chunk = new byte[12 + exif.Length];
        BinaryPrimitives.WriteInt32BigEndian(chunk, exif.Length);
        "eXIf"u8.CopyTo(chunk.AsSpan(4));
        exif.CopyTo(chunk, 8);
        BinaryPrimitives.WriteUInt32BigEndian(chunk.AsSpan(8 + exif.Length), Fixtures.Crc32(chunk.AsSpan(4, 4 + exif.Length)));
        var ihdrEnd = 8 + 25;
        byte[] tagged = [.. stored[..ihdrEnd], .. chunk, .. stored[ihdrEnd..]];
        Assert.Equal(6, Exif.PngOrientation(tagged));
        var result = Engine.Verify(template, tagged);
        Assert.True(result.Succeeded, result.Error?.Code());
        Assert.InRange(result.Value.Distance, 0, 1e-4);
    }
}
