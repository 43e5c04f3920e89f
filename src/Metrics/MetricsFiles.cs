using Harness.Storage.Checkpoints;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Harness.Storage.Files;

namespace Harness.Metrics;

/// <summary>JSON and CSV forms of <see cref="ModelMetrics"/>, written atomically.</summary>
public static class MetricsFiles
{
    public static string ToJson<T>(T value) => HarnessJson.Serialize(value);

    public static IReadOnlyList<ModelMetrics> ReadJson(string path)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"metrics file '{path}' does not exist", path);
        try
        {
            return HarnessJson.Deserialize<List<ModelMetrics>>(File.ReadAllText(path))
                ?? throw new InvalidDataException($"metrics file '{path}' holds null, expected a list of models");
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"metrics file '{path}' is not a JSON list of model metrics: {ex.Message}", ex);
        }
    }

    public static void WriteJson(string path, IReadOnlyList<ModelMetrics> models) =>
        AtomicFile.WriteAllText(path, ToJson(models) + "\n");

    private static readonly string[] CsvHeader =
    [
        "name", "parameters", "nonzero_parameters", "sparsity", "size_bytes", "size_mb", "sparse_size_bytes",
        "image_size", "macs_thop", "macs_torchprofile", "effective_macs_thop", "effective_macs_torchprofile",
        "flops_thop", "flops_torchprofile", "latency_device", "latency_threads", "latency_batch_size",
        "latency_warmup", "latency_runs", "latency_mean_ms", "latency_median_ms", "latency_p95_ms",
        "latency_mean_ms_per_image", "latency_median_ms_per_image", "latency_p95_ms_per_image", "parameter_bytes",
        "activation_peak_bytes", "activation_peak_at", "resident_growth_bytes", "resident_method", "test_loss",
        "test_accuracy", "onnx_latency_threads", "onnx_latency_mean_ms", "onnx_latency_median_ms", "onnx_latency_p95_ms",
    ];

    public static string ToCsv(IReadOnlyList<ModelMetrics> models) => CsvTable.Format(CsvHeader, models.Select(m =>
        {
            var l = m.Latency;
            var mem = m.Memory;
            object?[] cells =
            [
                m.Name, m.Parameters, m.NonzeroParameters, m.Sparsity, m.SizeBytes, m.SizeMB, m.SparseSizeBytes,
                m.ImageSize, m.MacsThop, m.MacsTorchProfile, m.EffectiveMacsThop, m.EffectiveMacsTorchProfile,
                m.Flops(MacConvention.Thop), m.Flops(MacConvention.TorchProfile), l?.Device, l?.Threads,
                l?.BatchSize, l?.Warmup, l?.Runs, l?.MeanMs, l?.MedianMs, l?.P95Ms, l?.MeanMsPerImage,
                l?.MedianMsPerImage, l?.P95MsPerImage, mem?.ParameterBytes, mem?.ActivationPeakBytes,
                mem?.ActivationPeakAt, mem?.ResidentGrowthBytes, mem?.ResidentMethod, m.TestLoss, m.TestAccuracy,
                m.OnnxLatency?.Threads, m.OnnxLatency?.MeanMs, m.OnnxLatency?.MedianMs, m.OnnxLatency?.P95Ms,
            ];
            return (IReadOnlyList<object?>)cells;
        }));

    public static void WriteCsv(string path, IReadOnlyList<ModelMetrics> models) =>
        AtomicFile.WriteAllText(path, ToCsv(models));
}
