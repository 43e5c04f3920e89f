using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Harness.Cli;

/// <summary>Median wall time of one ONNX Runtime (CPU) inference of an exported model on a random batch.</summary>
internal static class OnnxRuntimeLatency
{
    public static double MedianMs(byte[] model, int batch, int imageSize, int threads, int warmup, int runs)
    {
        using var options = new SessionOptions
        {
            IntraOpNumThreads = threads,
            InterOpNumThreads = 1,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        };
        using var session = new InferenceSession(model, options);
        var rng = new Random(1);
        var data = new float[batch * 3 * imageSize * imageSize];
        for (int i = 0; i < data.Length; i++) data[i] = (float)(rng.NextDouble() * 2 - 1);
        var feed = new[] { NamedOnnxValue.CreateFromTensor("input", new DenseTensor<float>(data, [batch, 3, imageSize, imageSize])) };
        for (int i = 0; i < warmup; i++) using (session.Run(feed)) { }
        var times = new List<double>();
        for (int i = 0; i < runs; i++)
        {
            var sw = Stopwatch.StartNew();
            using (session.Run(feed)) { }
            times.Add(sw.Elapsed.TotalMilliseconds);
        }
        return Harness.Metrics.LatencyStats.Summarise(times).Median;
    }
}
