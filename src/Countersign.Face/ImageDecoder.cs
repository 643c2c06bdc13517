using System.Buffers;
using System.Runtime.InteropServices;
using SkiaSharp;

namespace Countersign.Face;

/// <summary>
/// Turns untrusted bytes into an upright RGB picture, or says why not. Only JPEG, PNG and WebP are accepted
/// (by signature, before any decoder runs; phones and browsers hand out WebP under a .jpg name, one photo of
/// the DeepFace set among them); the size is read from the header and checked before pixels are
/// allocated; a file that is truncated or does not decode is <see cref="FaceError.NotAnImage"/>.
/// </summary>
/// <remarks>
/// The decoders are Skia's (libjpeg-turbo and libpng/wuffs), which Chromium and OSS-Fuzz fuzz
/// continuously. StbImageSharp was tried first and rejected: a 17-byte truncated JPEG made it loop
/// forever (docs/face.md, "Robustness").
/// </remarks>
internal static class ImageDecoder
{
    public const int MaxBytes = 10 * 1024 * 1024;
    public const long MaxPixels = 20_000_000;
    private const int PooledRgbaBytes = 16 * 1024 * 1024;

    public static (RgbImage? Image, FaceError? Error) Decode(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length > MaxBytes)
        {
            return (null, FaceError.ImageTooLarge);
        }
        var isJpeg = bytes.Length > 3 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF;
        var isPng = bytes.Length > 8 && bytes[..8].SequenceEqual((ReadOnlySpan<byte>)[0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        var isWebp = bytes.Length > 12 && bytes[..4].SequenceEqual("RIFF"u8) && bytes.Slice(8, 4).SequenceEqual("WEBP"u8);
        if (!isJpeg && !isPng && !isWebp)
        {
            return (null, FaceError.NotAnImage);
        }
        var format = isJpeg ? SKEncodedImageFormat.Jpeg : isPng ? SKEncodedImageFormat.Png : SKEncodedImageFormat.Webp;
        using var data = SKData.CreateCopy(bytes);
        using var codec = SKCodec.Create(data);
        if (codec is null || codec.EncodedFormat != format)
        {
            return (null, FaceError.NotAnImage);
        }
        var (width, height) = (codec.Info.Width, codec.Info.Height);
        if (width <= 0 || height <= 0)
        {
            return (null, FaceError.NotAnImage);
        }
        if ((long)width * height > MaxPixels)
        {
            return (null, FaceError.ImageTooLarge);
        }
        var info = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        // Skia has no packed 24-bit RGB: decode to RGBA, keep RGB. The RGBA buffer is pooled up to 16 MiB
        // (4 megapixels, every ordinary photo); a larger one is left to the GC rather than kept in the pool.
        var pooled = info.BytesSize <= PooledRgbaBytes;
        var rgba = pooled ? ArrayPool<byte>.Shared.Rent(info.BytesSize) : new byte[info.BytesSize];
        byte[] rgb;
        try
        {
            var pin = GCHandle.Alloc(rgba, GCHandleType.Pinned);
            SKCodecResult result;
            try
            {
                result = codec.GetPixels(info, pin.AddrOfPinnedObject());
            }
            finally
            {
                pin.Free();
            }
            if (result != SKCodecResult.Success)
            {
                // IncompleteInput included: a truncated upload is not a picture to judge a face by.
                return (null, FaceError.NotAnImage);
            }
            rgb = new byte[width * height * 3];
            for (int i = 0, j = 0; j < rgb.Length; i += 4, j += 3)
            {
                rgb[j] = rgba[i];
                rgb[j + 1] = rgba[i + 1];
                rgb[j + 2] = rgba[i + 2];
            }
        }
        finally
        {
            if (pooled)
            {
                ArrayPool<byte>.Shared.Return(rgba);
            }
        }
        var image = new RgbImage(width, height, rgb);
        return (image.Oriented(isJpeg ? Exif.JpegOrientation(bytes) : isPng ? Exif.PngOrientation(bytes) : Exif.WebpOrientation(bytes)), null);
    }
}

/// <summary>
/// Reads the EXIF orientation tag (274) from a JPEG APP1 segment, a PNG eXIf chunk or a WebP EXIF chunk. Bounds-checked at
/// every step; anything malformed counts as "no orientation" (1).
/// </summary>
internal static class Exif
{
    public static int JpegOrientation(ReadOnlySpan<byte> jpeg)
    {
        var i = 2;
        while (i + 4 <= jpeg.Length)
        {
            if (jpeg[i] != 0xFF)
            {
                return 1;
            }
            var marker = jpeg[i + 1];
            if (marker == 0xFF)
            {
                i++;
                continue;
            }
            if (marker is 0xD9 or 0xDA)
            {
                return 1; // end of image, or start of scan: no metadata after it
            }
            var length = (jpeg[i + 2] << 8) | jpeg[i + 3];
            if (length < 2 || i + 2 + length > jpeg.Length)
            {
                return 1;
            }
            var segment = jpeg.Slice(i + 4, length - 2);
            if (marker == 0xE1 && segment.Length > 6 && segment[..6].SequenceEqual("Exif\0\0"u8))
            {
                return TiffOrientation(segment[6..]);
            }
            i += 2 + length;
        }
        return 1;
    }

    public static int PngOrientation(ReadOnlySpan<byte> png)
    {
        var i = 8;
        while (i + 12 <= png.Length)
        {
            var length = (png[i] << 24) | (png[i + 1] << 16) | (png[i + 2] << 8) | png[i + 3];
            if (length < 0 || length > png.Length - i - 12)
            {
                return 1;
            }
            var type = png.Slice(i + 4, 4);
            if (type.SequenceEqual("eXIf"u8))
            {
                return TiffOrientation(png.Slice(i + 8, length));
            }
            if (type.SequenceEqual("IDAT"u8))
            {
                return 1; // eXIf must come before the image data
            }
            i += 12 + length;
        }
        return 1;
    }

    /// <summary>RIFF chunks after "RIFF size WEBP": the "EXIF" chunk holds TIFF data (some writers prefix "Exif\0\0").</summary>
    public static int WebpOrientation(ReadOnlySpan<byte> webp)
    {
        var i = 12;
        while (i + 8 <= webp.Length)
        {
            var length = webp[i + 4] | (webp[i + 5] << 8) | (webp[i + 6] << 16) | (webp[i + 7] << 24);
            if (length < 0 || length > webp.Length - i - 8)
            {
                return 1;
            }
            if (webp.Slice(i, 4).SequenceEqual("EXIF"u8))
            {
                var tiff = webp.Slice(i + 8, length);
                return TiffOrientation(tiff.Length > 6 && tiff[..6].SequenceEqual("Exif\0\0"u8) ? tiff[6..] : tiff);
            }
            i += 8 + length + (length & 1); // chunks are padded to an even size
        }
        return 1;
    }

    private static int TiffOrientation(ReadOnlySpan<byte> tiff)
    {
        if (tiff.Length < 8)
        {
            return 1;
        }
        bool little;
        if (tiff[0] == 'I' && tiff[1] == 'I')
        {
            little = true;
        }
        else if (tiff[0] == 'M' && tiff[1] == 'M')
        {
            little = false;
        }
        else
        {
            return 1;
        }
        int U16(ReadOnlySpan<byte> s, int at) => little ? s[at] | (s[at + 1] << 8) : (s[at] << 8) | s[at + 1];
        long U32(ReadOnlySpan<byte> s, int at) => (uint)(little
            ? s[at] | (s[at + 1] << 8) | (s[at + 2] << 16) | (s[at + 3] << 24)
            : (s[at] << 24) | (s[at + 1] << 16) | (s[at + 2] << 8) | s[at + 3]);
        if (U16(tiff, 2) != 42)
        {
            return 1;
        }
        var ifd = U32(tiff, 4);
        if (ifd < 8 || ifd + 2 > tiff.Length)
        {
            return 1;
        }
        var count = U16(tiff, (int)ifd);
        for (var n = 0; n < count; n++)
        {
            var entry = (int)ifd + 2 + 12 * n;
            if (entry + 12 > tiff.Length)
            {
                return 1;
            }
            if (U16(tiff, entry) == 274)
            {
                // SHORT, count 1: the value sits in the first two bytes of the value field.
                var value = U16(tiff, entry + 8);
                return U16(tiff, entry + 2) == 3 && value is >= 1 and <= 8 ? value : 1;
            }
        }
        return 1;
    }
}
