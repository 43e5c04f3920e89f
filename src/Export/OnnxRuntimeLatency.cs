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
    /// Several models timed in turn, each as it is deployed: one ONNX Runtime session alive at a time, with the runtime's
    /// default thread spinning (<paramref name="spinning"/> false tells its threads to sleep between operators instead),
    /// warmed up, then timed for its share of <paramref name="runs"/> consecutive passes and closed; that in
    /// <paramref name="rounds"/> rounds, each with fresh sessions and starting one model later, so that no model always
    /// runs first and a session's luck — where its buffers landed, a persistent 3–10% between two sessions of the same
    /// network at batch 32 on a shared VM — is sampled <paramref name="rounds"/> times for every model. Interleaving
    /// open sessions (<see cref="MeasureInterleaved"/>) needs spinning off, since the idle sessions' spinning threads would
    /// take the cores, and that costs every operator a thread wake-up no deployed model pays: at batch 1 it made an int8
    /// MobileNetV2 look 0.52–0.58× its float export where alone, spinning, it runs in 0.45×.
    /// </summary>
    /// <returns>Per model, in order: its statistics over every timed pass, and the median of each round's passes
    /// (round order, so that ratios between models can be taken round by round).</returns>
    public static IReadOnlyList<(LatencyStats Pooled, IReadOnlyList<double> RoundMedians)> MeasureInTurn(IReadOnlyList<byte[]> onnxModels,
        int imageSize, int batchSize, int runs, int warmup, int threads, int rounds, bool spinning = true)
    {
        if (rounds < 1) throw new ArgumentOutOfRangeException(nameof(rounds), rounds, "at least one round");
        if (runs < 1) throw new ArgumentOutOfRangeException(nameof(runs), runs, "runs must be at least 1");
        if (onnxModels.Count == 0) throw new ArgumentException("at least one model is needed", nameof(onnxModels));
        rounds = Math.Min(rounds, runs);
        var feed = RandomFeed(imageSize, batchSize);
        var times = onnxModels.Select(_ => new List<double>(runs)).ToArray();
        var roundMedians = onnxModels.Select(_ => new double[rounds]).ToArray();
        using var bar = Harness.Runtime.ProgressLine.Start($"timing ONNX Runtime {imageSize}px b{batchSize}, {rounds} round(s)", rounds * onnxModels.Count, "sessions");
        for (int round = 0; round < rounds; round++)
        {
            // Round r times passes [r·runs/rounds, (r+1)·runs/rounds): every pass is timed once, the rounds differ by one at most.
            int count = (round + 1) * runs / rounds - round * runs / rounds;
            for (int k = 0; k < onnxModels.Count; k++)
            {
                int m = (k + round) % onnxModels.Count;
                Settle();
                using var options = SessionOptionsFor(threads, spinning);
                using var session = new InferenceSession(onnxModels[m], options);
                for (int i = 0; i < warmup; i++) using (session.Run(feed)) { }
                var own = new List<double>(count);
                for (int i = 0; i < count; i++)
                {
                    var sw = Stopwatch.StartNew();
                    using (session.Run(feed)) { }
                    own.Add(sw.Elapsed.TotalMilliseconds);
                }
                times[m].AddRange(own);
                roundMedians[m][round] = LatencyStats.Summarise(own).Median;
                bar.Advance();
            }
        }
        return times.Select((t, m) =>
        {
            var (mean, median, p95) = LatencyStats.Summarise(t);
            return (new LatencyStats("cpu (onnxruntime)", threads, batchSize, imageSize, warmup, runs, mean, median, p95),
                (IReadOnlyList<double>)roundMedians[m]);
        }).ToList();
    }

    /// <summary>Lets the .NET runtime finish its own work before a timing: a garbage collection and the finalizers it
    /// queues (TorchSharp frees native tensors there) would otherwise run on the cores the timed passes spin on.</summary>
    private static void Settle()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
    }

    private static SessionOptions SessionOptionsFor(int threads, bool spinning)
    {
        var options = new SessionOptions
        {
            IntraOpNumThreads = threads,
            InterOpNumThreads = 1,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        };
        if (!spinning) options.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
        return options;
    }

    /// <summary>A seeded uniform [−1, 1) batch as the graph's input.</summary>
    private static NamedOnnxValue[] RandomFeed(int imageSize, int batchSize)
    {
        var rng = new Random(1);
        var data = new float[batchSize * 3 * imageSize * imageSize];
        for (int i = 0; i < data.Length; i++) data[i] = (float)(rng.NextDouble() * 2 - 1);
        return [NamedOnnxValue.CreateFromTensor(OnnxExporter.InputName, new DenseTensor<float>(data, [batchSize, 3, imageSize, imageSize]))];
    }

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
                // Each session has its own intra-op pool whose threads spin after a run; timed side by side, the spinning
                // threads of one session would take the cores from the next one. Only then are they told to sleep.
                var options = SessionOptionsFor(threads, spinning: onnxModels.Count == 1);
                sessions.Add((options, new InferenceSession(bytes, options)));
            }
            var feed = RandomFeed(imageSize, batchSize);
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
