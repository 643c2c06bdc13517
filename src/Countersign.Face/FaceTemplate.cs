using System.Buffers.Binary;
using System.Text;

namespace Countersign.Face;

/// <summary>
/// What is kept of an enrolled face: the 128-d descriptor and the model that made it; never the picture.
/// A descriptor is only comparable with descriptors of the same model, so <see cref="Model"/> is checked
/// on verification. The server stores the bytes of <see cref="ToBytes"/> encrypted.
/// </summary>
public sealed class FaceTemplate
{
    private static readonly byte[] Magic = "CSF1"u8.ToArray();
    private readonly float[] _descriptor;

    public FaceTemplate(string model, ReadOnlySpan<float> descriptor)
    {
        ArgumentException.ThrowIfNullOrEmpty(model);
        if (descriptor.Length != FaceModel.DescriptorLength)
        {
            throw new ArgumentException($"a descriptor has {FaceModel.DescriptorLength} values", nameof(descriptor));
        }
        foreach (var v in descriptor)
        {
            if (!float.IsFinite(v))
            {
                throw new ArgumentException("a descriptor holds finite values only", nameof(descriptor));
            }
        }
        Model = model;
        _descriptor = descriptor.ToArray();
    }

    /// <summary>Model id and version, e.g. <c>face-api-1.7.15/dlib-resnet/sha256:…</c>.</summary>
    public string Model { get; }

    public ReadOnlySpan<float> Descriptor => _descriptor;

    /// <summary>"CSF1", model name length (u16 BE) and UTF-8 bytes, then 128 little-endian float32.</summary>
    public byte[] ToBytes()
    {
        var name = Encoding.UTF8.GetBytes(Model);
        var bytes = new byte[4 + 2 + name.Length + 4 * _descriptor.Length];
        Magic.CopyTo(bytes, 0);
        BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(4), checked((ushort)name.Length));
        name.CopyTo(bytes, 6);
        for (var i = 0; i < _descriptor.Length; i++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(6 + name.Length + 4 * i), _descriptor[i]);
        }
        return bytes;
    }

    /// <summary>Reads <see cref="ToBytes"/>' format; null when the bytes are not a template.</summary>
    public static FaceTemplate? FromBytes(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length < 6 || !bytes[..4].SequenceEqual(Magic))
        {
            return null;
        }
        var nameLength = BinaryPrimitives.ReadUInt16BigEndian(bytes[4..]);
        if (nameLength == 0 || bytes.Length != 6 + nameLength + 4 * FaceModel.DescriptorLength)
        {
            return null;
        }
        var descriptor = new float[FaceModel.DescriptorLength];
        for (var i = 0; i < descriptor.Length; i++)
        {
            descriptor[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes[(6 + nameLength + 4 * i)..]);
            if (!float.IsFinite(descriptor[i]))
            {
                return null;
            }
        }
        string model;
        try
        {
            model = new UTF8Encoding(false, true).GetString(bytes.Slice(6, nameLength));
        }
        catch (DecoderFallbackException)
        {
            return null;
        }
        return new FaceTemplate(model, descriptor);
    }
}
