using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Countersign.Face.Networks;

/// <summary>What follows a convolution, per output channel: <c>act((x + bias) · scale + shift)</c>.</summary>
internal enum Activation
{
    None,
    Relu,
    /// <summary>Leaky ReLU with slope 0.1, as the tiny face detector uses it.</summary>
    Leaky,
}

/// <summary>
/// The handful of operations the three networks need, written for channels-last tensors. Convolutions are
/// im2col + a register-blocked GEMM on 256-bit vectors (4 pixels × 16 output channels per step); the rest
/// are simple loops that cost little next to them.
/// </summary>
internal static class Ops
{
    private const int Lanes = 8;

    /// <summary>TensorFlow's "same" padding: output size and the padding before (the odd one goes after).</summary>
    public static (int Out, int Before) Same(int input, int kernel, int stride)
    {
        var output = (input + stride - 1) / stride;
        var total = Math.Max((output - 1) * stride + kernel - input, 0);
        return (output, total / 2);
    }

    /// <summary>
    /// A convolution with filters laid out [kh, kw, in, out] (the manifest's order, used as the GEMM's B),
    /// then the per-channel epilogue. <paramref name="padTop"/>/<paramref name="padLeft"/> are the zero rows and
    /// columns before the image; the output size says how far the kernel walks.
    /// </summary>
    public static Tensor Conv(Tensor x, ConvWeights w, int stride, int padTop, int padLeft, int outH, int outW)
    {
        var y = new Tensor(outH, outW, w.Out);
        var k = w.KernelH * w.KernelW * w.In;
        if (w.KernelH == 1 && w.KernelW == 1 && stride == 1 && padTop == 0 && padLeft == 0 && outH == x.Height && outW == x.Width)
        {
            Gemm(x.Span, x.Pixels, k, w.Filters, w.Out, y.Span);
        }
        else
        {
            // im2col a slab of output pixels at a time, so the buffer stays near the L2 size.
            var slab = Math.Max(4, 65536 / k / 4 * 4);
            var cols = ArrayPool<float>.Shared.Rent(slab * k);
            try
            {
                var total = outH * outW;
                for (var p0 = 0; p0 < total; p0 += slab)
                {
                    var n = Math.Min(slab, total - p0);
                    Im2Col(x, w.KernelH, w.KernelW, stride, padTop, padLeft, outW, p0, n, cols);
                    Gemm(cols.AsSpan(0, n * k), n, k, w.Filters, w.Out, y.Span.Slice(p0 * w.Out, n * w.Out));
                }
            }
            finally
            {
                ArrayPool<float>.Shared.Return(cols);
            }
        }
        Epilogue(y, w.Bias, w.Scale, w.Shift, w.Activation);
        return y;
    }

    private static void Im2Col(Tensor x, int kh, int kw, int stride, int padTop, int padLeft, int outW, int p0, int n, float[] cols)
    {
        var c = x.Channels;
        var k = kh * kw * c;
        var src = x.Span;
        for (var i = 0; i < n; i++)
        {
            var oy = (p0 + i) / outW;
            var ox = (p0 + i) % outW;
            var row = cols.AsSpan(i * k, k);
            var o = 0;
            for (var ky = 0; ky < kh; ky++)
            {
                var iy = oy * stride - padTop + ky;
                for (var kx = 0; kx < kw; kx++, o += c)
                {
                    var ix = ox * stride - padLeft + kx;
                    if ((uint)iy < (uint)x.Height && (uint)ix < (uint)x.Width)
                    {
                        src.Slice((iy * x.Width + ix) * c, c).CopyTo(row.Slice(o, c));
                    }
                    else
                    {
                        row.Slice(o, c).Clear();
                    }
                }
            }
        }
    }

    /// <summary>C[m×n] = A[m×k] · B[k×n], all row-major; C is overwritten.</summary>
    public static void Gemm(ReadOnlySpan<float> a, int m, int k, ReadOnlySpan<float> b, int n, Span<float> c)
    {
        if (a.Length < m * k || b.Length < k * n || c.Length < m * n)
        {
            throw new ArgumentException("GEMM operand too small.");
        }
        if (n % Lanes != 0 || !Vector256.IsHardwareAccelerated)
        {
            GemmScalar(a, m, k, b, n, c);
            return;
        }
        ref var a0 = ref MemoryMarshal.GetReference(a);
        ref var b0 = ref MemoryMarshal.GetReference(b);
        ref var c0 = ref MemoryMarshal.GetReference(c);
        var i = 0;
        for (; i + 4 <= m; i += 4)
        {
            var j = 0;
            for (; j + 16 <= n; j += 16)
            {
                Kernel4x16(ref Unsafe.Add(ref a0, i * k), k, ref Unsafe.Add(ref b0, j), n, ref Unsafe.Add(ref c0, i * n + j));
            }
            for (; j < n; j += Lanes)
            {
                for (var r = 0; r < 4; r++)
                {
                    Kernel1x8(ref Unsafe.Add(ref a0, (i + r) * k), k, ref Unsafe.Add(ref b0, j), n, ref Unsafe.Add(ref c0, (i + r) * n + j));
                }
            }
        }
        for (; i < m; i++)
        {
            for (var j = 0; j < n; j += Lanes)
            {
                Kernel1x8(ref Unsafe.Add(ref a0, i * k), k, ref Unsafe.Add(ref b0, j), n, ref Unsafe.Add(ref c0, i * n + j));
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Kernel4x16(ref float a, int k, ref float b, int n, ref float c)
    {
        var c00 = Vector256<float>.Zero; var c01 = Vector256<float>.Zero;
        var c10 = Vector256<float>.Zero; var c11 = Vector256<float>.Zero;
        var c20 = Vector256<float>.Zero; var c21 = Vector256<float>.Zero;
        var c30 = Vector256<float>.Zero; var c31 = Vector256<float>.Zero;
        ref var a1 = ref Unsafe.Add(ref a, k);
        ref var a2 = ref Unsafe.Add(ref a, 2 * k);
        ref var a3 = ref Unsafe.Add(ref a, 3 * k);
        for (var p = 0; p < k; p++)
        {
            ref var bp = ref Unsafe.Add(ref b, p * n);
            var b0 = Vector256.LoadUnsafe(ref bp);
            var b1 = Vector256.LoadUnsafe(ref bp, Lanes);
            var x = Vector256.Create(Unsafe.Add(ref a, p));
            c00 = Vector256.FusedMultiplyAdd(x, b0, c00); c01 = Vector256.FusedMultiplyAdd(x, b1, c01);
            x = Vector256.Create(Unsafe.Add(ref a1, p));
            c10 = Vector256.FusedMultiplyAdd(x, b0, c10); c11 = Vector256.FusedMultiplyAdd(x, b1, c11);
            x = Vector256.Create(Unsafe.Add(ref a2, p));
            c20 = Vector256.FusedMultiplyAdd(x, b0, c20); c21 = Vector256.FusedMultiplyAdd(x, b1, c21);
            x = Vector256.Create(Unsafe.Add(ref a3, p));
            c30 = Vector256.FusedMultiplyAdd(x, b0, c30); c31 = Vector256.FusedMultiplyAdd(x, b1, c31);
        }
        c00.StoreUnsafe(ref c); c01.StoreUnsafe(ref c, Lanes);
        c10.StoreUnsafe(ref c, (nuint)n); c11.StoreUnsafe(ref c, (nuint)(n + Lanes));
        c20.StoreUnsafe(ref c, (nuint)(2 * n)); c21.StoreUnsafe(ref c, (nuint)(2 * n + Lanes));
        c30.StoreUnsafe(ref c, (nuint)(3 * n)); c31.StoreUnsafe(ref c, (nuint)(3 * n + Lanes));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Kernel1x8(ref float a, int k, ref float b, int n, ref float c)
    {
        var acc = Vector256<float>.Zero;
        for (var p = 0; p < k; p++)
        {
            acc = Vector256.FusedMultiplyAdd(Vector256.Create(Unsafe.Add(ref a, p)), Vector256.LoadUnsafe(ref Unsafe.Add(ref b, p * n)), acc);
        }
        acc.StoreUnsafe(ref c);
    }

    private static void GemmScalar(ReadOnlySpan<float> a, int m, int k, ReadOnlySpan<float> b, int n, Span<float> c)
    {
        c[..(m * n)].Clear();
        for (var i = 0; i < m; i++)
        {
            var row = c.Slice(i * n, n);
            for (var p = 0; p < k; p++)
            {
                var x = a[i * k + p];
                var bp = b.Slice(p * n, n);
                for (var j = 0; j < n; j++)
                {
                    row[j] = MathF.FusedMultiplyAdd(x, bp[j], row[j]);
                }
            }
        }
    }

    /// <summary>Per channel: <c>act((x + bias) · scale + shift)</c>; scale and shift are optional.</summary>
    public static void Epilogue(Tensor y, float[] bias, float[]? scale, float[]? shift, Activation activation)
    {
        var c = y.Channels;
        var data = y.Span;
        for (var p = 0; p < y.Pixels; p++)
        {
            var row = data.Slice(p * c, c);
            for (var j = 0; j < c; j++)
            {
                var v = row[j] + bias[j];
                if (scale is not null)
                {
                    v = v * scale[j] + shift![j];
                }
                row[j] = activation switch
                {
                    Activation.Relu => MathF.Max(v, 0f),
                    // TensorFlow.js computes relu(x - 0.1x) + 0.1x; the same value up to rounding.
                    Activation.Leaky => MathF.Max(v, 0.1f * v),
                    _ => v,
                };
            }
        }
    }

    /// <summary>Depthwise 3×3 (filters [3, 3, C, 1]), no bias: the first half of a separable convolution.</summary>
    public static Tensor Depthwise3x3(Tensor x, float[] filters, int stride, int padTop, int padLeft, int outH, int outW)
    {
        var c = x.Channels;
        var y = new Tensor(outH, outW, c);
        var src = x.Span;
        var dst = y.Span;
        var vectorised = c % Lanes == 0 && Vector256.IsHardwareAccelerated;
        for (var oy = 0; oy < outH; oy++)
        {
            for (var ox = 0; ox < outW; ox++)
            {
                var o = dst.Slice((oy * outW + ox) * c, c);
                o.Clear();
                for (var ky = 0; ky < 3; ky++)
                {
                    var iy = oy * stride - padTop + ky;
                    if ((uint)iy >= (uint)x.Height)
                    {
                        continue;
                    }
                    for (var kx = 0; kx < 3; kx++)
                    {
                        var ix = ox * stride - padLeft + kx;
                        if ((uint)ix >= (uint)x.Width)
                        {
                            continue;
                        }
                        var input = src.Slice((iy * x.Width + ix) * c, c);
                        var w = filters.AsSpan((ky * 3 + kx) * c, c);
                        if (vectorised)
                        {
                            for (var j = 0; j < c; j += Lanes)
                            {
                                var acc = Vector256.Create(o.Slice(j, Lanes));
                                acc = Vector256.FusedMultiplyAdd(Vector256.Create(input.Slice(j, Lanes)), Vector256.Create(w.Slice(j, Lanes)), acc);
                                acc.CopyTo(o.Slice(j, Lanes));
                            }
                        }
                        else
                        {
                            for (var j = 0; j < c; j++)
                            {
                                o[j] = MathF.FusedMultiplyAdd(input[j], w[j], o[j]);
                            }
                        }
                    }
                }
            }
        }
        return y;
    }

    /// <summary>Max pooling; windows that hang over the edge ignore the missing cells (TensorFlow's "same").</summary>
    public static Tensor MaxPool(Tensor x, int size, int stride, int padTop, int padLeft, int outH, int outW)
    {
        var c = x.Channels;
        var y = new Tensor(outH, outW, c);
        var src = x.Span;
        var dst = y.Span;
        for (var oy = 0; oy < outH; oy++)
        {
            for (var ox = 0; ox < outW; ox++)
            {
                var o = dst.Slice((oy * outW + ox) * c, c);
                o.Fill(float.NegativeInfinity);
                for (var ky = 0; ky < size; ky++)
                {
                    var iy = oy * stride - padTop + ky;
                    if ((uint)iy >= (uint)x.Height)
                    {
                        continue;
                    }
                    for (var kx = 0; kx < size; kx++)
                    {
                        var ix = ox * stride - padLeft + kx;
                        if ((uint)ix >= (uint)x.Width)
                        {
                            continue;
                        }
                        System.Numerics.Tensors.TensorPrimitives.Max(o, src.Slice((iy * x.Width + ix) * c, c), o);
                    }
                }
            }
        }
        return y;
    }

    /// <summary>Average pooling, "valid" (every window is whole).</summary>
    public static Tensor AvgPool(Tensor x, int size, int stride)
    {
        var outH = (x.Height - size) / stride + 1;
        var outW = (x.Width - size) / stride + 1;
        var c = x.Channels;
        var y = new Tensor(outH, outW, c);
        var src = x.Span;
        var dst = y.Span;
        var inv = 1f / (size * size);
        for (var oy = 0; oy < outH; oy++)
        {
            for (var ox = 0; ox < outW; ox++)
            {
                var o = dst.Slice((oy * outW + ox) * c, c);
                o.Clear();
                for (var ky = 0; ky < size; ky++)
                {
                    for (var kx = 0; kx < size; kx++)
                    {
                        System.Numerics.Tensors.TensorPrimitives.Add(o, src.Slice(((oy * stride + ky) * x.Width + ox * stride + kx) * c, c), o);
                    }
                }
                System.Numerics.Tensors.TensorPrimitives.Multiply(o, inv, o);
            }
        }
        return y;
    }

    /// <summary>x ← x + y, then ReLU when asked.</summary>
    public static void AddInPlace(Tensor x, Tensor y, bool relu)
    {
        var a = x.Span;
        System.Numerics.Tensors.TensorPrimitives.Add(a, y.Span, a);
        if (relu)
        {
            System.Numerics.Tensors.TensorPrimitives.Max(a, 0f, a);
        }
    }

    public static void Relu(Tensor x) => System.Numerics.Tensors.TensorPrimitives.Max(x.Span, 0f, x.Span);
}
