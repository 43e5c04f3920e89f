namespace Harness.Export.Quantization;

/// <summary>Clipping ranges chosen from a histogram of an activation over [lo, hi] (lo ≤ 0 ≤ hi): by percentile, or
/// by the least Kullback–Leibler divergence between the clipped distribution and its 255-step quantization.</summary>
public static class HistogramRanges
{
    /// <summary>The number of steps an 8-bit encoding has between its ends.</summary>
    public const int Levels = 255;

    /// <summary>Cuts each tail holding at most (100 − p)% of the values; a side that saw no values below 0 (or above)
    /// keeps its edge at 0. The result holds 0.</summary>
    public static (double Lo, double Hi) Percentile(IReadOnlyList<long> histogram, double lo, double hi, double percentile)
    {
        CheckArguments(histogram, lo, hi);
        int n = histogram.Count;
        double binWidth = (hi - lo) / n;
        long total = histogram.Sum();
        if (total == 0) return (lo, hi);
        double tail = total * (100 - percentile) / 100;
        // Lower edge: the left edge of the first bin past the tail.
        int first = 0;
        for (long seen = 0; first < n - 1; first++)
        {
            if (seen + histogram[first] > tail) break;
            seen += histogram[first];
        }
        int lastBin = n - 1;
        for (long seen = 0; lastBin > 0; lastBin--)
        {
            if (seen + histogram[lastBin] > tail) break;
            seen += histogram[lastBin];
        }
        double newLo = lo < 0 ? lo + first * binWidth : 0;
        double newHi = hi > 0 ? lo + (lastBin + 1) * binWidth : 0;
        return (Math.Min(newLo, 0), Math.Max(newHi, 0));
    }

    /// <summary>
    /// The window of bins, shrunk about the zero bin by one factor on both sides, that minimises KL(P ‖ Q): P is the
    /// histogram cut to the window with the values outside added to its end bins, Q the window's histogram merged
    /// into <see cref="Levels"/> equal steps, each step's count spread evenly over its non-empty bins (TensorRT's
    /// calibration, extended to asymmetric windows). Windows narrower than <see cref="Levels"/> bins are not
    /// candidates (they would quantize losslessly and always win).
    /// </summary>
    public static (double Lo, double Hi) Entropy(IReadOnlyList<long> histogram, double lo, double hi)
    {
        CheckArguments(histogram, lo, hi);
        int n = histogram.Count;
        if (n < 2 * Levels) throw new ArgumentException($"entropy calibration needs at least {2 * Levels} bins (got {n})");
        double binWidth = (hi - lo) / n;
        int zero = (int)Math.Round(-lo / binWidth);
        var prefix = new long[n + 1];
        for (int i = 0; i < n; i++) prefix[i + 1] = prefix[i] + histogram[i];
        if (prefix[n] == 0) return (lo, hi);
        double bestKl = double.PositiveInfinity;
        (int A, int B) best = (0, n);
        const int steps = 256;
        for (int k = steps; k >= 1; k--)
        {
            double f = (double)k / steps;
            int a = zero - (int)Math.Round(f * zero);
            int b = zero + (int)Math.Round(f * (n - zero));
            if (b - a < Levels) break;
            double kl = Divergence(histogram, prefix, a, b);
            if (kl < bestKl) { bestKl = kl; best = (a, b); }
        }
        double newLo = lo + best.A * binWidth, newHi = lo + best.B * binWidth;
        return (Math.Min(newLo, 0), Math.Max(newHi, 0));
    }

    private static double Divergence(IReadOnlyList<long> h, long[] prefix, int a, int b)
    {
        int width = b - a;
        long total = prefix[^1];
        var p = new double[width];
        for (int i = 0; i < width; i++) p[i] = h[a + i];
        p[0] += prefix[a];
        p[width - 1] += total - prefix[b];
        var q = new double[width];
        for (int level = 0; level < Levels; level++)
        {
            int start = a + (int)((long)level * width / Levels), end = a + (int)((long)(level + 1) * width / Levels);
            long sum = prefix[end] - prefix[start];
            int nonEmpty = 0;
            for (int i = start; i < end; i++) if (h[i] > 0) nonEmpty++;
            if (nonEmpty == 0) continue;
            double each = (double)sum / nonEmpty;
            for (int i = start; i < end; i++) if (h[i] > 0) q[i - a] = each;
        }
        double pSum = p.Sum(), qSum = q.Sum();
        if (qSum <= 0) return double.PositiveInfinity;
        const double floor = 1e-12;
        double kl = 0;
        for (int i = 0; i < width; i++)
        {
            if (p[i] <= 0) continue;
            double pi = p[i] / pSum, qi = Math.Max(q[i] / qSum, floor);
            kl += pi * Math.Log(pi / qi);
        }
        return kl;
    }

    private static void CheckArguments(IReadOnlyList<long> histogram, double lo, double hi)
    {
        if (histogram.Count == 0) throw new ArgumentException("empty histogram");
        if (!(lo <= 0 && hi >= 0 && hi > lo)) throw new ArgumentException($"histogram range [{lo}, {hi}] must hold 0 and have width");
    }
}
