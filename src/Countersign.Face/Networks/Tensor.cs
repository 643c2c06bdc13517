using System.Buffers;

namespace Countersign.Face.Networks;

/// <summary>
/// One image's activations, height × width × channels, channels last (TensorFlow's NHWC without the batch).
/// The buffer is rented from the shared pool and goes back on <see cref="Dispose"/>, so a forward pass
/// allocates almost nothing once the pool is warm.
/// </summary>
internal sealed class Tensor : IDisposable
{
    private float[]? _data;

    public Tensor(int height, int width, int channels)
    {
        Height = height;
        Width = width;
        Channels = channels;
        _data = ArrayPool<float>.Shared.Rent(height * width * channels);
    }

    public int Height { get; }
    public int Width { get; }
    public int Channels { get; }
    public int Length => Height * Width * Channels;
    public int Pixels => Height * Width;

    public Span<float> Span => (_data ?? throw new ObjectDisposedException(nameof(Tensor))).AsSpan(0, Length);

    public void Dispose()
    {
        if (_data is { } data)
        {
            _data = null;
            ArrayPool<float>.Shared.Return(data);
        }
    }
}
