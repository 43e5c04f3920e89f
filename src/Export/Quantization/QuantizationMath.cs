namespace Harness.Export.Quantization;

/// <summary>An activation's 8-bit encoding: <c>q = clamp(round(x / Scale) + ZeroPoint, 0, 255)</c>, ONNX's
/// QuantizeLinear with a uint8 zero point.</summary>
public readonly record struct ActivationEncoding(float Scale, byte ZeroPoint)
{
    public float Dequantize(byte q) => (q - ZeroPoint) * Scale;

    /// <summary>QuantizeLinear's rounding: half to even, then saturation to 0..255.</summary>
    public byte Quantize(float x) => (byte)Math.Clamp(Math.Round(x / Scale, MidpointRounding.ToEven) + ZeroPoint, 0, 255);
}

/// <summary>Weights of one layer as int8, symmetric (zero point 0) with one scale per slice along
/// <see cref="Axis"/> (the output channels).</summary>
public sealed record WeightEncoding(sbyte[] Values, float[] Scales, int Axis);

/// <summary>The arithmetic of 8-bit quantization, free of any graph: activation ranges to (scale, zero point),
/// weights to per-channel int8, biases to int32 at the scale the integer convolution accumulates in.</summary>
public static class QuantizationMath
{
    /// <summary>The largest bias magnitude kept in int32: 2³⁰, so that bias plus the accumulated products stays clear
    /// of the int32 edge.</summary>
    public const double BiasLimit = 1 << 30;

    /// <summary>uint8 asymmetric encoding of the range [lo, hi], widened to hold 0 (so that zero, padding and ReLU's
    /// floor are exact). A zero-width range gets scale 1.</summary>
    public static ActivationEncoding Activation(double lo, double hi)
    {
        if (double.IsNaN(lo) || double.IsNaN(hi) || double.IsInfinity(lo) || double.IsInfinity(hi))
            throw new ArgumentException($"an activation range must be finite (got [{lo}, {hi}])");
        lo = Math.Min(lo, 0);
        hi = Math.Max(hi, 0);
        double width = hi - lo;
        if (!(width > 1e-30)) return new ActivationEncoding(1f, 0);
        float scale = (float)(width / 255);
        var zp = (byte)Math.Clamp(Math.Round(-lo / scale), 0, 255);
        return new ActivationEncoding(scale, zp);
    }

    /// <summary>
    /// Symmetric int8 per slice of <paramref name="axis"/> (values −127..127, zero point 0): scale = max |w| / 127 of
    /// the slice, so every weight is off by at most half a step and a zero weight stays exactly zero. With a bias and
    /// the input's scale, a slice's scale grows where the bias would not fit in int32 at input scale × weight scale
    /// (<see cref="BiasLimit"/>). An all-zero slice gets scale 1.
    /// </summary>
    public static WeightEncoding Weights(float[] w, long[] shape, int axis, float[]? bias = null, float inputScale = 0)
    {
        if (axis < 0 || axis >= shape.Length) throw new ArgumentOutOfRangeException(nameof(axis));
        long total = shape.Aggregate(1L, (a, b) => a * b);
        if (total != w.Length) throw new ArgumentException($"weight: {w.Length} values for shape [{string.Join(", ", shape)}]");
        int channels = (int)shape[axis];
        long inner = shape.Skip(axis + 1).Aggregate(1L, (a, b) => a * b);
        if (bias is not null && bias.Length != channels)
            throw new ArgumentException($"bias: {bias.Length} values for {channels} channels");
        var max = new double[channels];
        for (long i = 0; i < w.Length; i++)
        {
            int c = (int)(i / inner % channels);
            double a = Math.Abs(w[i]);
            if (!double.IsFinite(a)) throw new ArgumentException("weights must be finite");
            if (a > max[c]) max[c] = a;
        }
        var scales = new float[channels];
        for (int c = 0; c < channels; c++)
        {
            double s = max[c] / 127;
            if (bias is not null && inputScale > 0) s = Math.Max(s, Math.Abs(bias[c]) / (inputScale * BiasLimit));
            float f = s > 0 ? (float)s : 1f;
            // float32 rounding of the scale may land just under what the bias needs: step up to the next float.
            if (bias is not null && inputScale > 0)
                while (Math.Abs(bias[c]) / ((double)inputScale * f) > BiasLimit) f = MathF.BitIncrement(f);
            scales[c] = f;
        }
        var q = new sbyte[w.Length];
        for (long i = 0; i < w.Length; i++)
        {
            int c = (int)(i / inner % channels);
            q[i] = (sbyte)Math.Clamp(Math.Round(w[i] / scales[c], MidpointRounding.ToEven), -127, 127);
        }
        return new WeightEncoding(q, scales, axis);
    }

    /// <summary>A bias as int32 at scale <paramref name="inputScale"/> × the channel's weight scale, zero point 0
    /// (what QLinearConv and QGemm add to their int32 accumulators).</summary>
    public static int[] Bias(float[] bias, float inputScale, float[] weightScales)
    {
        if (bias.Length != weightScales.Length) throw new ArgumentException("bias and weight scales differ in length");
        var q = new int[bias.Length];
        for (int c = 0; c < bias.Length; c++)
        {
            double v = Math.Round(bias[c] / ((double)inputScale * weightScales[c]), MidpointRounding.ToEven);
            q[c] = (int)Math.Clamp(v, -BiasLimit, BiasLimit);
        }
        return q;
    }

    public static float[] BiasScales(float inputScale, float[] weightScales) =>
        weightScales.Select(s => (float)((double)inputScale * s)).ToArray();
}
