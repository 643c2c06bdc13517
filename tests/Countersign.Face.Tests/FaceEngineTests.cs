using System.Buffers.Binary;

namespace Countersign.Face.Tests;

public class FaceEngineTests
{
    private static readonly FaceEngine Engine = new();

    /// <summary>sample2's one face with some room around it, 600×600 PNG (lossless, so both sides agree).</summary>
    internal static RgbImage FaceCrop { get; } = Crop(Fixtures.Decode(Fixtures.Sample(2)), 680, 120, 600, 600);

    internal static RgbImage Crop(RgbImage image, int x, int y, int w, int h)
    {
        var dst = new byte[w * h * 3];
        for (var r = 0; r < h; r++)
        {
            Array.Copy(image.Pixels, ((y + r) * image.Width + x) * 3, dst, r * w * 3, w * 3);
        }
        return new RgbImage(w, h, dst);
    }

    /// <summary>Nearest-neighbour resize: enough to shrink a face below the minimum size.</summary>
    internal static RgbImage Shrink(RgbImage image, int w, int h)
    {
        var dst = new byte[w * h * 3];
        for (var y = 0; y < h; y++)
        {
            for (var x = 0; x < w; x++)
            {
                var s = (y * image.Height / h * image.Width + x * image.Width / w) * 3;
                Array.Copy(image.Pixels, s, dst, (y * w + x) * 3, 3);
            }
        }
        return new RgbImage(w, h, dst);
    }

    [Fact]
    public void A_face_enrols_and_verifies_against_itself_and_a_re_encoding()
    {
        var png = Fixtures.Encode(FaceCrop);
        var enrolled = Engine.Enrol(png);
        Assert.True(enrolled.Succeeded, enrolled.Error?.Code());
        Assert.Equal(128, enrolled.Value.Descriptor.Length);

        var same = Engine.Verify(enrolled.Value, png);
        Assert.True(same.Succeeded);
        Assert.True(same.Value.Match);
        Assert.Equal(0, same.Value.Distance, 6);
        Assert.Equal(FaceEngine.DefaultThreshold, same.Value.Threshold);

        var jpeg = Engine.Verify(enrolled.Value, Fixtures.Encode(FaceCrop, jpegQuality: 60));
        Assert.True(jpeg.Succeeded);
        Assert.True(jpeg.Value.Match, $"distance {jpeg.Value.Distance}");
        Assert.InRange(jpeg.Value.Distance, 1e-4, 0.25);
    }

    [Fact]
    public void Different_people_do_not_match()
    {
        var photo = Fixtures.Decode(Fixtures.Sample(1));
        var faces = FaceModel.Shared.Detect(photo, 0.5).OrderBy(f => f.X).ToList();
        Assert.Equal(3, faces.Count);
        var crops = faces.Select(f => Fixtures.Encode(Crop(photo, (int)Math.Max(0, f.X - 40), (int)Math.Max(0, f.Y - 40),
            (int)Math.Min(f.Width + 80, photo.Width - Math.Max(0, f.X - 40)), (int)Math.Min(f.Height + 80, photo.Height - Math.Max(0, f.Y - 40))))).ToList();
        var template = Engine.Enrol(crops[0]);
        Assert.True(template.Succeeded, template.Error?.Code());
        foreach (var other in crops.Skip(1))
        {
            var result = Engine.Verify(template.Value, other);
            Assert.True(result.Succeeded, result.Error?.Code());
            Assert.False(result.Value.Match);
            Assert.InRange(result.Value.Distance, FaceEngine.DefaultThreshold, 2);
        }
    }

    [Fact]
    public void The_threshold_is_configurable_and_decides_the_match()
    {
        var enrolled = Engine.Enrol(Fixtures.Encode(FaceCrop)).Value!;
        var probe = Fixtures.Encode(FaceCrop, jpegQuality: 30);
        var distance = Engine.Verify(enrolled, probe).Value!.Distance;
        Assert.True(new FaceEngine(new FaceOptions { Threshold = distance * 1.01 }).Verify(enrolled, probe).Value!.Match);
        var strict = new FaceEngine(new FaceOptions { Threshold = distance * 0.99 }).Verify(enrolled, probe).Value!;
        Assert.False(strict.Match);
        Assert.Equal(distance * 0.99, strict.Threshold);
        Assert.Throws<ArgumentOutOfRangeException>(() => new FaceEngine(new FaceOptions { Threshold = 0 }));
    }

    [Theory]
    [InlineData("text")]
    [InlineData("empty")]
    [InlineData("gif")]
    [InlineData("bmp")]
    [InlineData("truncated-jpeg")]
    [InlineData("truncated-png")]
    [InlineData("jpeg-signature-then-garbage")]
    public void Bytes_that_are_not_a_JPEG_or_PNG_are_not_an_image(string kind)
    {
        var jpeg = Fixtures.Encode(FaceCrop, 80);
        var png = Fixtures.Encode(FaceCrop);
        byte[] bytes = kind switch
        {
            "text" => "hello, I am a face"u8.ToArray(),
            "empty" => [],
            "gif" => [.. "GIF89a"u8, 1, 0, 1, 0, 0, 0, 0, 0x2C, 0, 0, 0, 0, 1, 0, 1, 0, 0, 2, 2, 0x44, 1, 0, 0x3B],
            "bmp" => [.. "BM"u8, .. new byte[60]],
            "truncated-jpeg" => jpeg[..(jpeg.Length / 50)],
            "truncated-png" => png[..100],
            _ => [0xFF, 0xD8, 0xFF, .. Enumerable.Range(0, 5000).Select(i => (byte)(i * 7919 % 251))],
        };
        Assert.Equal(FaceError.NotAnImage, Engine.Enrol(bytes).Error);
    }

    [Fact]
    public void More_than_10_MiB_is_too_large_before_anything_is_decoded()
    {
        var bytes = new byte[10 * 1024 * 1024 + 1];
        Fixtures.Encode(FaceCrop).CopyTo(bytes, 0);
        Assert.Equal(FaceError.ImageTooLarge, Engine.Enrol(bytes).Error);
        Assert.True(Engine.Enrol(bytes.AsSpan(0, 10 * 1024 * 1024)).Error is not FaceError.ImageTooLarge);
    }

    [Theory]
    [InlineData(5000, 4001, true)]
    [InlineData(60000, 60000, true)]
    [InlineData(4000, 5000, false)]
    public void More_than_20_megapixels_in_the_header_is_too_large(int width, int height, bool tooLarge)
    {
        // A real JPEG whose frame header (SOF0) claims another size: refused from the header alone.
        var jpeg = Fixtures.Encode(FaceCrop, 80);
        var sof = FindMarker(jpeg, 0xC0);
        BinaryPrimitives.WriteUInt16BigEndian(jpeg.AsSpan(sof + 5), (ushort)height);
        BinaryPrimitives.WriteUInt16BigEndian(jpeg.AsSpan(sof + 7), (ushort)width);
        var error = Engine.Enrol(jpeg).Error;
        if (tooLarge)
        {
            Assert.Equal(FaceError.ImageTooLarge, error);
        }
        else
        {
            Assert.NotEqual(FaceError.ImageTooLarge, error);
        }

        // The same for a PNG's IHDR.
        var png = Fixtures.Encode(FaceCrop);
        BinaryPrimitives.WriteInt32BigEndian(png.AsSpan(16), width);
        BinaryPrimitives.WriteInt32BigEndian(png.AsSpan(20), height);
        BinaryPrimitives.WriteUInt32BigEndian(png.AsSpan(29), Fixtures.Crc32(png.AsSpan(12, 17)));
        var pngError = Engine.Enrol(png).Error;
        Assert.Equal(tooLarge, pngError == FaceError.ImageTooLarge);
    }

    internal static int FindMarker(byte[] jpeg, byte marker)
    {
        var i = 2;
        while (i + 4 < jpeg.Length)
        {
            if (jpeg[i + 1] == marker)
            {
                return i;
            }
            i += 2 + ((jpeg[i + 2] << 8) | jpeg[i + 3]);
        }
        throw new InvalidOperationException($"marker {marker:X2} not found");
    }

    [Fact]
    public void A_picture_without_a_face_is_no_face()
    {
        var w = 320;
        var h = 240;
        var pixels = new byte[w * h * 3];
        for (var i = 0; i < pixels.Length; i++)
        {
            pixels[i] = (byte)(i / 3 % w * 255 / w);
        }
        Assert.Equal(FaceError.NoFace, Engine.Enrol(Fixtures.Encode(new RgbImage(w, h, pixels))).Error);
        // A picture of something: a corner of a sample photo with no one in it.
        var sample = Fixtures.Decode(Fixtures.Sample(2));
        Assert.Equal(FaceError.NoFace, Engine.Enrol(Fixtures.Encode(Crop(sample, 0, sample.Height - 300, 300, 300))).Error);
    }

    [Fact]
    public void A_group_photo_is_multiple_faces()
    {
        Assert.Equal(FaceError.MultipleFaces, Engine.Enrol(Fixtures.Sample(1)).Error);
        Assert.Equal(FaceError.MultipleFaces, Engine.Enrol(Fixtures.Read("reference", "sample1-two-faces.png")).Error);
    }

    [Fact]
    public void A_face_below_the_minimum_size_is_too_small()
    {
        // The 600 px crop holds a face the detector boxes at ~210 px; at 200 px that is ~70 px (above the
        // 48 px minimum), at 100 px ~35 px.
        var larger = Engine.Enrol(Fixtures.Encode(Shrink(FaceCrop, 200, 200)));
        Assert.True(larger.Succeeded, larger.Error?.Code());
        Assert.Equal(FaceError.FaceTooSmall, Engine.Enrol(Fixtures.Encode(Shrink(FaceCrop, 100, 100))).Error);
        // The limit is an option: the same picture passes with a lower one.
        Assert.True(new FaceEngine(new FaceOptions { MinFaceSize = 24 }).Enrol(Fixtures.Encode(Shrink(FaceCrop, 100, 100))).Succeeded);
    }

    [Fact]
    public void Enrolment_refuses_a_blurred_or_a_dark_face_that_verification_still_scores()
    {
        // The face (an already soft photo) blurred by a box of radius 3 px three times (σ ≈ 3; at 4 the
        // detector no longer finds it), or, as too dark, the photo itself (mean luma 89) under a floor of 100:
        // darkened below the default floor of 50 the tiny detector no longer finds this face (no_face).
        var blurred = Fixtures.Encode(Pictures.Blur(FaceCrop, 3));
        var dark = Fixtures.Encode(FaceCrop);
        Assert.Equal(FaceError.FaceTooBlurred, Engine.Enrol(blurred).Error);
        Assert.Equal(FaceError.FaceTooDark, new FaceEngine(new FaceOptions { MinBrightness = 100 }).Enrol(dark).Error);
        Assert.Equal("face_too_blurred", FaceError.FaceTooBlurred.Code());
        Assert.Equal("face_too_dark", FaceError.FaceTooDark.Code());
        // A slightly softer or dimmer photo still enrols.
        Assert.True(Engine.Enrol(Fixtures.Encode(Pictures.Blur(FaceCrop, 1))).Succeeded);
        Assert.True(Engine.Enrol(Fixtures.Encode(Pictures.Brightness(FaceCrop, 0.75))).Succeeded);
        var template = Engine.Enrol(Fixtures.Encode(FaceCrop)).Value!;
        Assert.True(Engine.Verify(template, blurred).Succeeded);
        // The limits are options.
        Assert.True(new FaceEngine(new FaceOptions { MinSharpness = 0 }).Enrol(blurred).Succeeded);
    }

    [Fact]
    public void A_WebP_photo_enrols_like_the_same_pixels_as_PNG()
    {
        using var bitmap = new SkiaSharp.SKBitmap(new SkiaSharp.SKImageInfo(FaceCrop.Width, FaceCrop.Height, SkiaSharp.SKColorType.Rgba8888, SkiaSharp.SKAlphaType.Unpremul));
        for (var y = 0; y < FaceCrop.Height; y++)
        {
            for (var x = 0; x < FaceCrop.Width; x++)
            {
                var p = (y * FaceCrop.Width + x) * 3;
                bitmap.SetPixel(x, y, new SkiaSharp.SKColor(FaceCrop.Pixels[p], FaceCrop.Pixels[p + 1], FaceCrop.Pixels[p + 2]));
            }
        }
        using var data = bitmap.Encode(SkiaSharp.SKEncodedImageFormat.Webp, 100);
        var webp = data.ToArray();
        Assert.Equal("RIFF", System.Text.Encoding.ASCII.GetString(webp, 0, 4));
        var template = Engine.Enrol(Fixtures.Encode(FaceCrop)).Value!;
        var result = Engine.Verify(template, webp);
        Assert.True(result.Succeeded, result.Error?.Code());
        Assert.InRange(result.Value.Distance, 0, 0.1);
        Assert.Equal(FaceError.NotAnImage, Engine.Enrol(webp.AsSpan(0, webp.Length / 3)).Error);
    }

    [Fact]
    public void Templates_round_trip_through_bytes_and_reject_anything_else()
    {
        var template = Engine.Enrol(Fixtures.Encode(FaceCrop)).Value!;
        Assert.StartsWith("face-api-1.7.15/face_recognition_model/sha256:", template.Model, StringComparison.Ordinal);
        var bytes = template.ToBytes();
        var back = FaceTemplate.FromBytes(bytes);
        Assert.NotNull(back);
        Assert.Equal(template.Model, back.Model);
        Assert.True(template.Descriptor.SequenceEqual(back.Descriptor));
        Assert.Equal(0, Engine.Verify(back, Fixtures.Encode(FaceCrop)).Value!.Distance, 6);

        Assert.Null(FaceTemplate.FromBytes(bytes.AsSpan(0, bytes.Length - 1)));
        Assert.Null(FaceTemplate.FromBytes([.. bytes, 0]));
        Assert.Null(FaceTemplate.FromBytes([]));
        var wrongMagic = bytes.ToArray();
        wrongMagic[0] ^= 1;
        Assert.Null(FaceTemplate.FromBytes(wrongMagic));
        var nan = bytes.ToArray();
        BinaryPrimitives.WriteSingleLittleEndian(nan.AsSpan(nan.Length - 4), float.NaN);
        Assert.Null(FaceTemplate.FromBytes(nan));
    }

    [Fact]
    public void A_template_from_another_model_is_refused()
    {
        var template = Engine.Enrol(Fixtures.Encode(FaceCrop)).Value!;
        var foreign = new FaceTemplate("some-other-model/v1", template.Descriptor);
        Assert.Throws<ArgumentException>(() => Engine.Verify(foreign, Fixtures.Encode(FaceCrop)));
    }

    [Fact]
    public void Parallel_verifications_agree_with_sequential_ones()
    {
        var template = Engine.Enrol(Fixtures.Encode(FaceCrop)).Value!;
        var probes = new[]
        {
            Fixtures.Encode(FaceCrop, 90), Fixtures.Encode(FaceCrop, 50), Fixtures.Encode(FaceCrop.Oriented(2)),
            Fixtures.Encode(Shrink(FaceCrop, 400, 400)), Fixtures.Read("reference", "sample3-face0.png"),
            Fixtures.Read("reference", "sample5-face0.png"), Fixtures.Sample(1), [1, 2, 3],
        };
        var expected = probes.Select(p => Describe(Engine.Verify(template, p))).ToArray();
        Assert.Contains(expected, e => e.StartsWith("match", StringComparison.Ordinal));
        Assert.Contains(expected, e => e.StartsWith("no match", StringComparison.Ordinal));

        var results = new string[probes.Length * 6];
        Parallel.For(0, results.Length, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
            results[i] = Describe(Engine.Verify(template, probes[i % probes.Length])));
        for (var i = 0; i < results.Length; i++)
        {
            Assert.Equal(expected[i % probes.Length], results[i]);
        }

        static string Describe(FaceResult<FaceVerification> r) =>
            r.Succeeded ? $"{(r.Value.Match ? "match" : "no match")} {r.Value.Distance:R}" : r.Error!.Value.Code();
    }
}
