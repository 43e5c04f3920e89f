namespace Harness.Metrics;

/// <summary>Wall-clock time of timed forward passes of a random input in eval mode without gradients.</summary>
/// <param name="Device">Where the passes ran (<c>cpu</c>, <c>cuda:0</c>…).</param>
/// <param name="Threads">Intra-op threads of libtorch (<c>torch.get_num_threads()</c>) during the passes.</param>
/// <param name="BatchSize">Images per pass.</param>
/// <param name="ImageSize">Side of the square input images.</param>
/// <param name="Warmup">Untimed passes before the timed ones.</param>
/// <param name="Runs">Timed passes.</param>
/// <param name="MeanMs">Mean milliseconds per pass (per batch).</param>
/// <param name="MedianMs">Median milliseconds per pass.</param>
/// <param name="P95Ms">95th percentile (nearest rank) milliseconds per pass.</param>
public sealed record LatencyStats(string Device, int Threads, int BatchSize, int ImageSize, int Warmup, int Runs,
    double MeanMs, double MedianMs, double P95Ms)
{
    /// <summary>The activations' layout during the passes (<c>channels-last</c>, <c>contiguous</c>); ONNX Runtime's own
    /// for its figures.</summary>
    public string MemoryFormat { get; init; } = "contiguous";

    /// <summary>Whether the timed network had its BatchNorms folded into its convolutions.</summary>
    public bool BatchNormFolded { get; init; }

    /// <summary>Mean milliseconds per image.</summary>
    public double MeanMsPerImage => MeanMs / BatchSize;

    /// <summary>Median milliseconds per image.</summary>
    public double MedianMsPerImage => MedianMs / BatchSize;

    /// <summary>95th percentile milliseconds per image.</summary>
    public double P95MsPerImage => P95Ms / BatchSize;

    /// <summary>Summary statistics of per-pass times in milliseconds.</summary>
    public static (double Mean, double Median, double P95) Summarise(IReadOnlyList<double> milliseconds)
    {
        if (milliseconds.Count == 0)
            throw new ArgumentException("at least one timing is needed", nameof(milliseconds));
        var sorted = milliseconds.Order().ToArray();
        int n = sorted.Length;
        double median = n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
        double p95 = sorted[(int)Math.Ceiling(0.95 * n) - 1];
        return (sorted.Average(), median, p95);
    }
}
