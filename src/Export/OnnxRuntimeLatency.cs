using Harness.Metrics;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using System.Diagnostics;

namespace Harness.Export;

/// <summary>
/// Latency in the deployment runtime: the model exported as <c>export onnx</c> writes it (BatchNorm folded), run by
/// ONNX Runtime on the CPU (all graph optimisations, <c>threads</c> intra-op threads, one inter-op thread) on a random
/// batch, with the same warm-up, runs and statistics as <see cref="LatencyMeter"/>.
/// </summary>
public static class OnnxRuntimeLatency
{
    /// <summary>The block of consecutive timed passes per model at a batch size: 5 at batch 1 (a pass takes
    /// milliseconds and the caches decide), 1 above (a pass streams far more activations than any cache holds).</summary>
    public static int BlockFor(int batchSize) => batchSize == 1 ? 5 : 1;

    public static LatencyStats Measure(Harness.Model.Networks.IPrunableNetwork model, int imageSize, int batchSize, int runs, int warmup, int threads) =>
        Measure(OnnxExporter.ToBytes(model, new OnnxExportOptions
        {
            ImageSize = imageSize,
            ClassNames = Enumerable.Range(0, model.NumClasses).Select(i => $"class_{i}").ToList(),
        }), imageSize, batchSize, runs, warmup, threads);

    public static LatencyStats Measure(byte[] onnxModel, int imageSize, int batchSize, int runs, int warmup, int threads) =>
        MeasureInterleaved([onnxModel], imageSize, batchSize, runs, warmup, threads)[0];

    /// <summary>
    /// Several models timed side by side: each gets its own session and its warm-up, then the timed passes alternate
    /// between them in blocks (block k of every model before block k + 1 of any), so that a change in the machine's
    /// load falls on all of them alike and the ratio of their statistics is fair on a shared machine; each round starts
    /// with the next model, so that none always runs first. With
    /// <paramref name="block"/> 1 the passes alternate one by one; with a larger block each model runs that many timed
    /// passes in a row after one untimed pass, so that it is timed with its own weights in the caches, as a deployed
    /// model runs — alternating pass by pass, a small model's weights are evicted by the others' between its passes
    /// (at batch 1 that made an int8 ResNet-18 look 10–15% slower against its float export).
    /// </summary>
    public static IReadOnlyList<LatencyStats> MeasureInterleaved(IReadOnlyList<byte[]> onnxModels, int imageSize, int batchSize,
        int runs, int warmup, int threads, int block = 1)
    {
        if (block < 1) throw new ArgumentOutOfRangeException(nameof(block), block, "a block holds at least one pass");
        if (runs < 1) throw new ArgumentOutOfRangeException(nameof(runs), runs, "runs must be at least 1");
        if (onnxModels.Count == 0) throw new ArgumentException("at least one model is needed", nameof(onnxModels));
        var sessions = new List<(SessionOptions Options, InferenceSession Session)>();
        try
        {
            foreach (var bytes in onnxModels)
            {
                var options = new SessionOptions
                {
                    IntraOpNumThreads = threads,
                    InterOpNumThreads = 1,
                    GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
                };
                // Each session has its own intra-op pool whose threads spin after a run; timed side by side, the spinning
                // threads of one session would take the cores from the next one. Only then are they told to sleep.
                if (onnxModels.Count > 1) options.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
                sessions.Add((options, new InferenceSession(bytes, options)));
            }
            var rng = new Random(1);
            var data = new float[batchSize * 3 * imageSize * imageSize];
            for (int i = 0; i < data.Length; i++) data[i] = (float)(rng.NextDouble() * 2 - 1);
            var feed = new[] { NamedOnnxValue.CreateFromTensor(OnnxExporter.InputName, new DenseTensor<float>(data, [batchSize, 3, imageSize, imageSize])) };
            foreach (var (_, session) in sessions)
                for (int i = 0; i < warmup; i++) using (session.Run(feed)) { }
            var times = sessions.Select(_ => new List<double>(runs)).ToArray();
            using var bar = Harness.Runtime.ProgressLine.Start($"timing ONNX Runtime {imageSize}px b{batchSize}", runs, "runs");
            for (int start = 0, round = 0; start < runs; start += block, round++)
            {
                int count = Math.Min(block, runs - start);
                // Each round starts one model later, so that no model always runs first (or after the same one).
                for (int k = 0; k < sessions.Count; k++)
                {
                    int m = (k + round) % sessions.Count;
                    if (block > 1 && sessions.Count > 1) using (sessions[m].Session.Run(feed)) { }
                    for (int i = 0; i < count; i++)
                    {
                        if (k == 0) bar.Advance();
                        var sw = Stopwatch.StartNew();
                        using (sessions[m].Session.Run(feed)) { }
                        times[m].Add(sw.Elapsed.TotalMilliseconds);
                    }
                }
            }
            return times.Select(t =>
            {
                var (mean, median, p95) = LatencyStats.Summarise(t);
                return new LatencyStats("cpu (onnxruntime)", threads, batchSize, imageSize, warmup, runs, mean, median, p95);
            }).ToList();
        }
        finally
        {
            foreach (var (options, session) in sessions) { session.Dispose(); options.Dispose(); }
        }
    }
}
