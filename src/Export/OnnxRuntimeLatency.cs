using System.Diagnostics;
using Harness.Metrics;
using Harness.Model;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Harness.Export;

/// <summary>
/// Latency in the deployment runtime: the model exported as <c>export onnx</c> writes it (BatchNorm folded), run by
/// ONNX Runtime on the CPU (all graph optimisations, <c>threads</c> intra-op threads, one inter-op thread) on a random
/// batch, with the same warm-up, runs and statistics as <see cref="LatencyMeter"/>.
/// </summary>
public static class OnnxRuntimeLatency
{
    public static LatencyStats Measure(EfficientNet model, int imageSize, int batchSize, int runs, int warmup, int threads) =>
        Measure(OnnxExporter.ToBytes(model, new OnnxExportOptions
        {
            ImageSize = imageSize, ClassNames = Enumerable.Range(0, model.Widths.NumClasses).Select(i => $"class_{i}").ToList(),
        }), imageSize, batchSize, runs, warmup, threads);

    public static LatencyStats Measure(byte[] onnxModel, int imageSize, int batchSize, int runs, int warmup, int threads)
    {
        if (runs < 1) throw new ArgumentOutOfRangeException(nameof(runs), runs, "runs must be at least 1");
        using var options = new SessionOptions
        {
            IntraOpNumThreads = threads,
            InterOpNumThreads = 1,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        };
        using var session = new InferenceSession(onnxModel, options);
        var rng = new Random(1);
        var data = new float[batchSize * 3 * imageSize * imageSize];
        for (int i = 0; i < data.Length; i++) data[i] = (float)(rng.NextDouble() * 2 - 1);
        var feed = new[] { NamedOnnxValue.CreateFromTensor(OnnxExporter.InputName, new DenseTensor<float>(data, [batchSize, 3, imageSize, imageSize])) };
        for (int i = 0; i < warmup; i++) using (session.Run(feed)) { }
        var times = new List<double>(runs);
        for (int i = 0; i < runs; i++)
        {
            var sw = Stopwatch.StartNew();
            using (session.Run(feed)) { }
            times.Add(sw.Elapsed.TotalMilliseconds);
        }
        var (mean, median, p95) = LatencyStats.Summarise(times);
        return new LatencyStats("cpu (onnxruntime)", threads, batchSize, imageSize, warmup, runs, mean, median, p95);
    }
}
