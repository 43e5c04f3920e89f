using System.Globalization;

namespace Harness.Metrics;

/// <summary>
/// Every column of the metrics outputs, declared once: <c>metrics.csv</c> (every entry with a CSV cell, in this
/// order) and the metrics tables (every entry with a table cell, in this order) are written from this list. Adding a
/// measurement is a <see cref="ModelMetrics"/> property (optional, so older <c>metrics/*.json</c> files still read)
/// and its entry here.
/// </summary>
public static class MetricColumns
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    private static MetricTableCell Cell(string header, bool deterministic, Func<ModelMetrics, string> text) =>
        new(_ => header, deterministic, (m, _) => text(m));

    private static MetricTableCell Count(Func<MetricTableContext, string> header, Func<ModelMetrics, MetricTableContext, long> value) =>
        new(header, true, (m, t) => (value(m, t) / t.Divisor).ToString(t.Prefix == "G" ? "F4" : "F2", Inv));

    private static string Timing(LatencyStats? l) =>
        l is null ? "-" : $"{l.MeanMs.ToString("F2", Inv)}/{l.MedianMs.ToString("F2", Inv)}/{l.P95Ms.ToString("F2", Inv)}";

    public static IReadOnlyList<MetricColumn> All { get; } =
    [
        new("name", "text", m => m.Name, Cell("Model", true, m => m.Name)),
        new("parameters", "count", m => m.Parameters, Cell("Params", true, m => m.Parameters.ToString("N0", Inv))),
        new("nonzero_parameters", "count", m => m.NonzeroParameters, Cell("Nonzero", true, m => m.NonzeroParameters.ToString("N0", Inv))),
        new("sparsity", "fraction", m => m.Sparsity, Cell("Sparsity %", true, m => (100 * m.Sparsity).ToString("F2", Inv))),
        new("size_bytes", "bytes", m => m.SizeBytes),
        new("size_mb", "MB (10⁶ bytes)", m => m.SizeMB, Cell("Size MB", true, m => m.SizeMB.ToString("F3", Inv))),
        new("sparse_size_bytes", "bytes", m => m.SparseSizeBytes,
            Cell("Sparse MB", true, m => m.SparseSizeMB is double s ? s.ToString("F3", Inv) : "-")),
        new("image_size", "pixels", m => m.ImageSize),
        new("macs_thop", "count", m => m.MacsThop),
        new("macs_torchprofile", "count", m => m.MacsTorchProfile),
        new("effective_macs_thop", "count", m => m.EffectiveMacsThop),
        new("effective_macs_torchprofile", "count", m => m.EffectiveMacsTorchProfile),
        new("flops_thop", "count", m => m.Flops(MacConvention.Thop)),
        new("flops_torchprofile", "count", m => m.Flops(MacConvention.TorchProfile)),
        new("macs_table", "count", null, Count(t => $"{t.Prefix}MACs {MetricsTable.Label(t.Convention)}", (m, t) => m.Macs(t.Convention))),
        new("flops_table", "count", null, Count(t => $"{t.Prefix}FLOPs {MetricsTable.Label(t.Convention)}", (m, t) => m.Flops(t.Convention))),
        new("other_macs_table", "count", null, Count(t => $"{t.Prefix}MACs {MetricsTable.Label(t.Other)}", (m, t) => m.Macs(t.Other))),
        new("effective_macs_table", "count", null,
            Count(t => $"Eff. {t.Prefix}MACs {MetricsTable.Label(t.Convention)}", (m, t) => m.EffectiveMacs(t.Convention))),
        new("latency_device", "text", m => m.Latency?.Device),
        new("latency_threads", "count", m => m.Latency?.Threads),
        new("latency_batch_size", "images", m => m.Latency?.BatchSize),
        new("latency_warmup", "runs", m => m.Latency?.Warmup),
        new("latency_runs", "runs", m => m.Latency?.Runs),
        new("latency_mean_ms", "ms", m => m.Latency?.MeanMs, Cell("Latency ms mean/med/p95", false, m => Timing(m.Latency))),
        new("latency_median_ms", "ms", m => m.Latency?.MedianMs),
        new("latency_p95_ms", "ms", m => m.Latency?.P95Ms),
        new("latency_mean_ms_per_image", "ms", m => m.Latency?.MeanMsPerImage,
            Cell("ms/image", false, m => m.Latency is { } l ? l.MeanMsPerImage.ToString("F2", Inv) : "-")),
        new("latency_median_ms_per_image", "ms", m => m.Latency?.MedianMsPerImage),
        new("latency_p95_ms_per_image", "ms", m => m.Latency?.P95MsPerImage),
        new("latency_device_table", "text", null, Cell("Device/threads", false, m => m.Latency is { } l ? $"{l.Device}/{l.Threads}" : "-")),
        new("onnx_latency_table", "ms", null, Cell("ONNX Runtime ms mean/med/p95", false, m => Timing(m.OnnxLatency))),
        new("parameter_bytes", "bytes", m => m.Memory?.ParameterBytes),
        new("activation_peak_bytes", "bytes", m => m.Memory?.ActivationPeakBytes,
            Cell("Act. peak MB", true, m => m.Memory is { } mem ? (mem.ActivationPeakBytes / 1e6).ToString("F2", Inv) : "-")),
        new("activation_peak_at", "text", m => m.Memory?.ActivationPeakAt),
        new("resident_growth_bytes", "bytes", m => m.Memory?.ResidentGrowthBytes,
            Cell("RSS growth MB", false, m => m.Memory is { } mem ? (mem.ResidentGrowthBytes / 1e6).ToString("F2", Inv) : "-")),
        new("resident_method", "text", m => m.Memory?.ResidentMethod),
        new("test_loss", "nats", m => m.TestLoss, Cell("Test loss", true, m => m.TestLoss is double v ? v.ToString("F4", Inv) : "-")),
        new("test_accuracy", "fraction", m => m.TestAccuracy,
            Cell("Test acc %", true, m => m.TestAccuracy is double a ? (100 * a).ToString("F2", Inv) : "-")),
        new("onnx_latency_threads", "count", m => m.OnnxLatency?.Threads),
        new("onnx_latency_mean_ms", "ms", m => m.OnnxLatency?.MeanMs),
        new("onnx_latency_median_ms", "ms", m => m.OnnxLatency?.MedianMs),
        new("onnx_latency_p95_ms", "ms", m => m.OnnxLatency?.P95Ms),
        new("int8_size_bytes", "bytes", m => m.Int8?.SizeBytes),
        new("int8_size_mb", "MB (10⁶ bytes)", m => m.Int8?.SizeMB,
            Cell("Int8 MB", true, m => m.Int8 is { } q ? q.SizeMB.ToString("F3", Inv) : "-") with { Optional = true }),
        new("int8_latency_mean_ms", "ms", m => m.Int8?.Latency?.MeanMs,
            Cell("ORT int8 ms mean/med/p95", false, m => Timing(m.Int8?.Latency)) with { Optional = true }),
        new("int8_latency_median_ms", "ms", m => m.Int8?.Latency?.MedianMs),
        new("int8_latency_p95_ms", "ms", m => m.Int8?.Latency?.P95Ms),
        new("int8_test_loss", "nats", m => m.Int8?.TestLoss),
        new("int8_test_accuracy", "fraction", m => m.Int8?.TestAccuracy,
            Cell("Int8 acc %", true, m => m.Int8?.TestAccuracy is double a ? (100 * a).ToString("F2", Inv) : "-") with { Optional = true }),
        new("int8_calibration", "text", m => m.Int8?.Calibration),
    ];

    /// <summary>The columns of <c>metrics.csv</c>, in order.</summary>
    public static IReadOnlyList<MetricColumn> Csv { get; } = All.Where(c => c.Csv is not null).ToList();

    /// <summary>The columns of the tables, in order.</summary>
    public static IReadOnlyList<MetricColumn> Table { get; } = All.Where(c => c.Table is not null).ToList();
}
