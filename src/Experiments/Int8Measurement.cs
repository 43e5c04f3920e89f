using Harness.Data;
using Harness.Export;
using Harness.Export.Quantization;
using Harness.Metrics;
using Harness.Model.Networks;
using Harness.Training;

namespace Harness.Experiments;

/// <summary>
/// The int8 figures of a model for the study's table: its static QDQ export (<see cref="Int8Exporter"/>, calibrated
/// on training images), timed in ONNX Runtime beside the float export (in turn, one session alive at a time, in
/// <see cref="Rounds"/> rounds of fresh sessions, so their ratio is fair on a shared machine; the float figure replaces
/// the one measured alone), and evaluated on the test set.
/// </summary>
public static class Int8Measurement
{
    /// <summary>Rounds of fresh sessions the float and int8 exports are timed in (fewer when there are fewer runs).</summary>
    public const int Rounds = 3;

    /// <summary>How the calibration is described in the metrics (the int8 column of a finished experiment is
    /// measured again when this changes).</summary>
    public static string Describe(string method, int batches, int batchSize, ulong seed) =>
        $"{method}, {batches}×{batchSize} training images (seed {seed})";

    public static ModelMetrics Measure(ModelMetrics metrics, IPrunableNetwork model, IReadOnlyList<(float[] Data, int[] Shape)> calibration,
        QuantizationOptions quantization, string description, BatchLoader? test, int runs, int warmup, int threads, int batchSize = 1)
    {
        model.Module.eval();
        var options = new OnnxExportOptions
        {
            ImageSize = metrics.ImageSize,
            ClassNames = [.. Enumerable.Range(0, model.NumClasses).Select(i => $"class_{i}")],
        };
        var floatBytes = OnnxExporter.ToBytes(model, options);
        var int8Bytes = Int8Exporter.ToBytes(model, options, quantization, calibration, threads);
        LatencyStats? floatLatency = metrics.OnnxLatency, int8Latency = null;
        if (runs > 0)
        {
            var timed = OnnxRuntimeLatency.MeasureInTurn([floatBytes, int8Bytes], metrics.ImageSize, batchSize, runs, warmup, threads, Rounds);
            (floatLatency, int8Latency) = (timed[0].Pooled, timed[1].Pooled);
        }
        Evaluation? eval = null;
        if (test is not null)
        {
            using var module = new OnnxRuntimeModule(OnnxRuntimeModel.FromBytes(int8Bytes, threads, $"{metrics.Name} (int8)"));
            eval = Evaluator.Evaluate(module, test);
        }
        return metrics with
        {
            OnnxLatency = floatLatency,
            Int8 = new Int8Metrics(int8Bytes.Length, int8Latency, eval?.Loss, eval?.Accuracy, description),
        };
    }
}
