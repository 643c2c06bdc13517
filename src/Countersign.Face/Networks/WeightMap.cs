using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text.Json;

namespace Countersign.Face.Networks;

/// <summary>
/// A TensorFlow.js weight manifest and its binary shards, read into named float arrays. Tensors with a
/// <c>quantization</c> entry are stored as uint8 and expand to <c>min + scale · q</c>; the rest are
/// little-endian float32.
/// </summary>
internal sealed class WeightMap
{
    private readonly Dictionary<string, (int[] Shape, float[] Values)> _tensors = new(StringComparer.Ordinal);

    private WeightMap(string sha256) => Sha256 = sha256;

    /// <summary>SHA-256 of the shards, hex: names the exact weights a template was made with.</summary>
    public string Sha256 { get; }

    public static WeightMap Load(Stream manifest, Func<string, Stream> openShard)
    {
        using var json = JsonDocument.Parse(manifest);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var entries = new List<(string Name, int[] Shape, JsonElement Quantization)>();
        var bytes = new MemoryStream();
        foreach (var group in json.RootElement.EnumerateArray())
        {
            foreach (var path in group.GetProperty("paths").EnumerateArray())
            {
                using var shard = openShard(path.GetString()!);
                shard.CopyTo(bytes);
            }
            foreach (var w in group.GetProperty("weights").EnumerateArray())
            {
                if (w.GetProperty("dtype").GetString() != "float32")
                {
                    throw new InvalidDataException($"unsupported dtype for {w.GetProperty("name").GetString()}");
                }
                var shape = w.GetProperty("shape").EnumerateArray().Select(d => d.GetInt32()).ToArray();
                entries.Add((w.GetProperty("name").GetString()!, shape, w.TryGetProperty("quantization", out var q) ? q.Clone() : default));
            }
        }
        var data = bytes.GetBuffer().AsSpan(0, (int)bytes.Length);
        hash.AppendData(data);
        var map = new WeightMap(Convert.ToHexStringLower(hash.GetHashAndReset()));
        var offset = 0;
        foreach (var (name, shape, quantization) in entries)
        {
            var count = shape.Aggregate(1, (a, b) => a * b);
            var values = new float[count];
            if (quantization.ValueKind == JsonValueKind.Object)
            {
                if (quantization.GetProperty("dtype").GetString() != "uint8")
                {
                    throw new InvalidDataException($"unsupported quantization for {name}");
                }
                var scale = quantization.GetProperty("scale").GetDouble();
                var min = quantization.GetProperty("min").GetDouble();
                var q = data.Slice(offset, count);
                for (var i = 0; i < count; i++)
                {
                    // TensorFlow.js dequantises in double (JavaScript numbers), then stores float32.
                    values[i] = (float)(q[i] * scale + min);
                }
                offset += count;
            }
            else
            {
                for (var i = 0; i < count; i++)
                {
                    values[i] = BinaryPrimitives.ReadSingleLittleEndian(data.Slice(offset + 4 * i, 4));
                }
                offset += 4 * count;
            }
            map._tensors.Add(name, (shape, values));
        }
        if (offset != data.Length)
        {
            throw new InvalidDataException($"the manifest describes {offset} bytes, the shards hold {data.Length}");
        }
        return map;
    }

    public float[] Get(string name, params int[] shape)
    {
        if (!_tensors.TryGetValue(name, out var t))
        {
            throw new InvalidDataException($"weight {name} is missing");
        }
        if (!t.Shape.AsSpan().SequenceEqual(shape))
        {
            throw new InvalidDataException($"weight {name} has shape [{string.Join(", ", t.Shape)}], expected [{string.Join(", ", shape)}]");
        }
        return t.Values;
    }

    /// <summary>A plain convolution "prefix/filters" + "prefix/bias".</summary>
    public ConvWeights Conv(string prefix, int kernel, int input, int output, Activation activation) =>
        new(Get(prefix + "/filters", kernel, kernel, input, output), Get(prefix + "/bias", output), null, null, kernel, kernel, input, output, activation);

    /// <summary>The recognition net's "conv + scale" layer.</summary>
    public ConvWeights ScaledConv(string prefix, int input, int output, bool relu) =>
        new(Get(prefix + "/conv/filters", 3, 3, input, output), Get(prefix + "/conv/bias", output),
            Get(prefix + "/scale/weights", output), Get(prefix + "/scale/biases", output), 3, 3, input, output,
            relu ? Activation.Relu : Activation.None);

    /// <summary>A separable convolution: depthwise 3×3 then pointwise 1×1 + bias.</summary>
    public SeparableWeights Separable(string prefix, int input, int output, Activation activation) =>
        new(Get(prefix + "/depthwise_filter", 3, 3, input, 1),
            new ConvWeights(Get(prefix + "/pointwise_filter", 1, 1, input, output), Get(prefix + "/bias", output), null, null, 1, 1, input, output, activation));
}

internal sealed record ConvWeights(float[] Filters, float[] Bias, float[]? Scale, float[]? Shift, int KernelH, int KernelW, int In, int Out, Activation Activation);

internal sealed record SeparableWeights(float[] Depthwise, ConvWeights Pointwise)
{
    public int In => Pointwise.In;
    public int Out => Pointwise.Out;
}
