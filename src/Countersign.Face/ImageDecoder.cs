using StbImageSharp;

namespace Countersign.Face;

/// <summary>
/// Turns untrusted bytes into an upright RGB picture, or says why not. Only JPEG and PNG are accepted
/// (by signature, before any decoder runs); sizes are checked from the header before pixels are allocated;
/// every decoder failure is a <see cref="FaceError.NotAnImage"/>, never an exception to the caller.
/// </summary>
internal static class ImageDecoder
{
    public const int MaxBytes = 10 * 1024 * 1024;
    public const long MaxPixels = 20_000_000;

    public static (RgbImage? Image, FaceError? Error) Decode(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length > MaxBytes)
        {
            return (null, FaceError.ImageTooLarge);
        }
        var isJpeg = bytes.Length > 3 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF;
        var isPng = bytes.Length > 8 && bytes[..8].SequenceEqual((ReadOnlySpan<byte>)[0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        if (!isJpeg && !isPng)
        {
            return (null, FaceError.NotAnImage);
        }
        var copy = bytes.ToArray();
        try
        {
            using (var header = new MemoryStream(copy, writable: false))
            {
                if (ImageInfo.FromStream(header) is not { } info || info.Width <= 0 || info.Height <= 0)
                {
                    return (null, FaceError.NotAnImage);
                }
                if ((long)info.Width * info.Height > MaxPixels)
                {
                    return (null, FaceError.ImageTooLarge);
                }
            }
            var decoded = ImageResult.FromMemory(copy, ColorComponents.RedGreenBlue);
            if (decoded?.Data is not { } data || decoded.Width <= 0 || decoded.Height <= 0 ||
                data.Length < (long)decoded.Width * decoded.Height * 3)
            {
                return (null, FaceError.NotAnImage);
            }
            var image = new RgbImage(decoded.Width, decoded.Height, data);
            return (image.Oriented(isJpeg ? Exif.JpegOrientation(bytes) : Exif.PngOrientation(bytes)), null);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // stb reports bad input by throwing (or by running off its buffers, which .NET turns into an
            // IndexOutOfRangeException): either way the bytes are not a picture we can use.
            return (null, FaceError.NotAnImage);
        }
    }
}

/// <summary>
/// Reads the EXIF orientation tag (274) from a JPEG APP1 segment or a PNG eXIf chunk. Bounds-checked at
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
