using FsCheck;
using FsCheck.Fluent;
using Harness.Export.Quantization;

namespace Harness.Tests.Properties.Export;

/// <summary>Laws of the int8 arithmetic over drawn weights, biases, ranges and histograms.</summary>
public class QuantizationProperties
{
    private static readonly Config Quick = Config.QuickThrowOnFailure.WithMaxTest(200);

    private sealed record WeightCase(float[] Values, long[] Shape, int Axis, float[]? Bias, float InputScale);

    /// <summary>Weights of a drawn shape (1–4 dimensions), magnitudes spread over six decades per channel, some
    /// channels all zero, some single weights zero (pruned), with or without a bias and an input scale.</summary>
    private static readonly Gen<WeightCase> Weights =
        from dims in Gen.Choose(1, 4)
        from shape in Gen.ArrayOf(Gen.Choose(1, 5), dims)
        from axis in Gen.Choose(0, dims - 1)
        let count = shape.Aggregate(1, (a, b) => a * b)
        from raw in Gen.ArrayOf(Gen.Choose(-1_000_000, 1_000_000), count)
        from exponents in Gen.ArrayOf(Gen.Choose(-6, 1), shape[axis])
        from zeroChannel in Gen.Choose(-1, shape[axis] - 1)
        from pruned in Gen.ArrayOf(Gen.Elements(false, false, false, true), count)
        from withBias in Gen.Elements(false, true)
        from biasRaw in Gen.ArrayOf(Gen.Choose(-1_000_000, 1_000_000), shape[axis])
        from biasExponent in Gen.Choose(-3, 6)
        from inputScaleExponent in Gen.Choose(-6, 0)
        select Make(shape.Select(s => (long)s).ToArray(), axis, raw, exponents, zeroChannel, pruned,
            withBias ? biasRaw.Select(b => (float)(b / 1e6 * Math.Pow(10, biasExponent))).ToArray() : null,
            (float)Math.Pow(10, inputScaleExponent));

    private static WeightCase Make(long[] shape, int axis, int[] raw, int[] exponents, int zeroChannel, bool[] pruned, float[]? bias, float inputScale)
    {
        long inner = shape.Skip(axis + 1).Aggregate(1L, (a, b) => a * b);
        var values = new float[raw.Length];
        for (int i = 0; i < raw.Length; i++)
        {
            int c = (int)(i / inner % shape[axis]);
            values[i] = c == zeroChannel || pruned[i] ? 0f : (float)(raw[i] / 1e6 * Math.Pow(10, exponents[c]));
        }
        return new WeightCase(values, shape, axis, bias, inputScale);
    }

    private static int Channel(WeightCase w, int i) =>
        (int)(i / w.Shape.Skip(w.Axis + 1).Aggregate(1L, (a, b) => a * b) % w.Shape[w.Axis]);

    /// <summary>Per output channel, every weight comes back within half a step (its channel's scale / 2), the
    /// largest magnitude of a channel maps to ±127 (unless the bias forced a wider step), and a zero weight —
    /// pruned, or a whole pruned channel — is exactly 0 in int8.</summary>
    [Test]
    public void WeightsComeBackWithinHalfAStepPerChannelAndZerosStayZero()
    {
        Prop.ForAll(Weights.ToArbitrary(), w =>
        {
            var e = QuantizationMath.Weights(w.Values, w.Shape, w.Axis, w.Bias, w.InputScale);
            for (int i = 0; i < w.Values.Length; i++)
            {
                int c = Channel(w, i);
                double back = e.Values[i] * (double)e.Scales[c];
                if (Math.Abs(back - w.Values[i]) > e.Scales[c] / 2 * (1 + 1e-6))
                    return false;
                if (w.Values[i] == 0 && e.Values[i] != 0) return false;
                if (e.Values[i] is < -127 or > 127) return false;
            }
            for (int c = 0; c < e.Scales.Length; c++)
            {
                var channel = Enumerable.Range(0, w.Values.Length).Where(i => Channel(w, i) == c).ToList();
                float max = channel.Max(i => Math.Abs(w.Values[i]));
                bool biasWidened = w.Bias is not null && Math.Abs(w.Bias[c]) / (w.InputScale * (double)(max / 127)) > QuantizationMath.BiasLimit;
                if (max > 0 && !biasWidened && channel.Max(i => Math.Abs((int)e.Values[i])) != 127) return false;
                if (!(e.Scales[c] > 0)) return false;
            }
            return true;
        }).Check(Quick);
    }

    /// <summary>The int32 bias at input scale × weight scale is within half its step of the float bias and inside
    /// ±2³⁰, whatever the magnitudes (the weight scale grows where it would not fit).</summary>
    [Test]
    public void BiasesFitInInt32WithinHalfTheirStep()
    {
        Prop.ForAll(Weights.Where(w => w.Bias is not null).ToArbitrary(), w =>
        {
            var e = QuantizationMath.Weights(w.Values, w.Shape, w.Axis, w.Bias, w.InputScale);
            var q = QuantizationMath.Bias(w.Bias!, w.InputScale, e.Scales);
            var scales = QuantizationMath.BiasScales(w.InputScale, e.Scales);
            for (int c = 0; c < q.Length; c++)
            {
                if (Math.Abs(q[c]) > QuantizationMath.BiasLimit) return false;
                double step = (double)w.InputScale * e.Scales[c];
                if (Math.Abs(q[c] * step - w.Bias![c]) > step / 2 * (1 + 1e-6) + 1e-12) return false;
                if (Math.Abs(scales[c] - step) > step * 1e-6) return false;
            }
            return true;
        }).Check(Quick);
    }

    private static readonly Gen<(double Lo, double Hi)> Ranges =
        from a in Gen.Choose(-1_000_000, 1_000_000)
        from b in Gen.Choose(-1_000_000, 1_000_000)
        from exponent in Gen.Choose(-4, 3)
        let s = Math.Pow(10, exponent) / 1e6
        select (Math.Min(a, b) * s, Math.Max(a, b) * s);

    /// <summary>An activation range's uint8 encoding represents 0 exactly (zero point in 0..255), covers the range to
    /// within one step at each end, and never spends more than 255 steps beyond it.</summary>
    [Test]
    public void ActivationEncodingHoldsZeroExactlyAndCoversTheRange()
    {
        Prop.ForAll(Ranges.ToArbitrary(), r =>
        {
            var e = QuantizationMath.Activation(r.Lo, r.Hi);
            double lo = Math.Min(r.Lo, 0), hi = Math.Max(r.Hi, 0);
            if (hi - lo <= 1e-30) return e.Scale == 1f && e.ZeroPoint == 0;
            if (e.Dequantize(e.ZeroPoint) != 0) return false;
            if (e.Dequantize(e.Quantize(0f)) != 0) return false;
            double low = e.Dequantize(0), high = e.Dequantize(255);
            return low <= lo + e.Scale * 1.0001 && high >= hi - e.Scale * 1.0001
                && Math.Abs(255 * (double)e.Scale - (hi - lo)) <= (hi - lo) * 1e-6;
        }).Check(Quick);
    }

    private static readonly Gen<(long[] Histogram, double Lo, double Hi)> Histograms =
        from bins in Gen.Elements(512, 1024, 2048)
        from zeroAt in Gen.Choose(0, 4)
        from counts in Gen.ArrayOf(Gen.Frequency((6, Gen.Constant(0)), (3, Gen.Choose(1, 50)), (1, Gen.Choose(100, 10_000))), bins)
        from width in Gen.Choose(1, 1000)
        let lo = -width * zeroAt / 4.0
        select (counts.Select(c => (long)c).ToArray(), lo, lo + width);

    /// <summary>Percentile and entropy ranges lie inside the observed range and hold 0; the percentile range cuts at
    /// most the share of values it names from each side.</summary>
    [Test]
    public void HistogramRangesLieInsideTheObservedRangeAndHoldZero()
    {
        Prop.ForAll(Histograms.ToArbitrary(), h =>
        {
            foreach (var (lo, hi) in new[] { HistogramRanges.Percentile(h.Histogram, h.Lo, h.Hi, 99.9), HistogramRanges.Entropy(h.Histogram, h.Lo, h.Hi) })
                if (!(lo <= 0 && hi >= 0 && lo >= h.Lo - 1e-9 && hi <= h.Hi + 1e-9)) return false;
            var (plo, phi) = HistogramRanges.Percentile(h.Histogram, h.Lo, h.Hi, 99.9);
            double binWidth = (h.Hi - h.Lo) / h.Histogram.Length;
            long total = h.Histogram.Sum(), below = 0, above = 0;
            for (int i = 0; i < h.Histogram.Length; i++)
            {
                double left = h.Lo + i * binWidth, right = left + binWidth;
                if (right <= plo + 1e-9) below += h.Histogram[i];
                if (left >= phi - 1e-9) above += h.Histogram[i];
            }
            return below <= total * 0.001 + 1e-9 && above <= total * 0.001 + 1e-9;
        }).Check(Quick);
    }
}
