namespace Harness.Export.Quantization;

/// <summary>
/// What calibration saw of one activation: its minimum and maximum (first pass), then a histogram of its values
/// over [min(minimum, 0), max(maximum, 0)] (second pass, only for the histogram methods). <see cref="Range"/> turns
/// that into the range the 8-bit encoding covers.
/// </summary>
public sealed class ActivationObserver
{
    private long[]? _histogram;
    private double _lo, _hi;

    public double Min { get; private set; } = double.PositiveInfinity;
    public double Max { get; private set; } = double.NegativeInfinity;
    public long Count { get; private set; }

    public IReadOnlyList<long>? Histogram => _histogram;

    /// <summary>First pass: widens the observed range by <paramref name="values"/>.</summary>
    public void ObserveRange(ReadOnlySpan<float> values)
    {
        float min = float.PositiveInfinity, max = float.NegativeInfinity;
        foreach (float v in values)
        {
            if (v < min) min = v;
            if (v > max) max = v;
        }
        if (values.Length == 0) return;
        if (float.IsNaN(min) || float.IsNaN(max) || float.IsInfinity(min) || float.IsInfinity(max))
            throw new InvalidDataException("calibration produced a value that is not finite");
        Min = Math.Min(Min, min);
        Max = Math.Max(Max, max);
        Count += values.Length;
    }

    /// <summary>Values exactly 0 the second pass saw (a ReLU's floor, padding): they are not in the histogram, since
    /// every encoding holds 0 exactly and they carry no quantization error; counted in them, a ReLU output's spike at
    /// 0 would dominate the entropy method's divergence and drive it to clip far too much.</summary>
    public long Zeros { get; private set; }

    /// <summary>Second pass: counts <paramref name="values"/> (but exact zeros, <see cref="Zeros"/>) into
    /// <paramref name="bins"/> equal bins over the range the first pass found (widened to hold 0); values outside it
    /// (none, when both passes see the same data) fall in the end bins.</summary>
    public void ObserveHistogram(ReadOnlySpan<float> values, int bins)
    {
        if (Count == 0) throw new InvalidOperationException("the histogram pass needs the range pass first");
        if (_histogram is null)
        {
            _histogram = new long[bins];
            _lo = Math.Min(Min, 0);
            _hi = Math.Max(Max, 0);
        }
        double width = _hi - _lo;
        if (!(width > 0)) { _histogram[0] += values.Length; return; }
        double perBin = _histogram.Length / width;
        int last = _histogram.Length - 1;
        foreach (float v in values)
        {
            if (v == 0) { Zeros++; continue; }
            int b = (int)((v - _lo) * perBin);
            _histogram[b < 0 ? 0 : b > last ? last : b]++;
        }
    }

    /// <summary>The range to encode: the observed one (<see cref="CalibrationMethod.MinMax"/>), or one chosen from the
    /// histogram. Always holds 0.</summary>
    public (double Lo, double Hi) Range(CalibrationMethod method, double percentile)
    {
        if (Count == 0) return (0, 0);
        double lo = Math.Min(Min, 0), hi = Math.Max(Max, 0);
        if (method == CalibrationMethod.MinMax || !(hi > lo)) return (lo, hi);
        if (_histogram is null) throw new InvalidOperationException($"{method} calibration needs the histogram pass");
        if (method == CalibrationMethod.Entropy) return HistogramRanges.Entropy(_histogram, lo, hi);
        // The percentile counts every value, zeros included (in the bin that holds 0).
        var all = _histogram.ToArray();
        all[Math.Clamp((int)(-lo / (hi - lo) * all.Length), 0, all.Length - 1)] += Zeros;
        return HistogramRanges.Percentile(all, lo, hi, percentile);
    }
}
