using Harness.Export;
using Harness.Export.Quantization;
using Harness.Metrics;
using Harness.Model;
using Harness.Model.Networks;
using static TorchSharp.torch;

namespace Harness.Experiments.Latency;

/// <summary>Measures networks' latency in one setting, side by side: the networks of one call are timed interleaved
/// (each in blocks after its own warm-up), so that a change of the machine's load falls on all of them alike and their
/// ratio is fair. Returns the median of each network's timed passes, in milliseconds.</summary>
public interface ILatencyProbe
{
    LatencySetting Setting { get; }

    /// <summary>The machine and runtime versions the figures hold for (<see cref="LatencyMachine"/>).</summary>
    string Machine { get; }

    IReadOnlyList<double> Medians(IReadOnlyList<IPrunableNetwork> networks, int runs);
}

/// <summary>The probe of a real runtime: ONNX Runtime on the float export (<see cref="OnnxRuntimeLatency"/>, BatchNorm
/// folded, all graph optimisations, spinning off between sessions), on the int8 QDQ export (calibrated on seeded
/// random images: the ranges change what the network computes, not how long it takes), or Harness's eager forward
/// (BatchNorm folded, libtorch's intra-op threads set to the setting's).</summary>
public sealed class RuntimeLatencyProbe(LatencySetting setting) : ILatencyProbe
{
    public LatencySetting Setting { get; } = setting;

    public string Machine => LatencyMachine.Describe();

    public IReadOnlyList<double> Medians(IReadOnlyList<IPrunableNetwork> networks, int runs)
    {
        if (networks.Count == 0) return [];
        if (Setting.Runtime == LatencyRuntime.Torch) return EagerMedians(networks, runs);
        var files = networks.Select(Bytes).ToList();
        return OnnxRuntimeLatency.MeasureInterleaved(files, Setting.ImageSize, Setting.BatchSize, runs, Setting.Warmup, Setting.Threads,
            OnnxRuntimeLatency.BlockFor(Setting.BatchSize)).Select(s => s.MedianMs).ToList();
    }

    private byte[] Bytes(IPrunableNetwork network)
    {
        network.Module.eval();
        var options = new OnnxExportOptions
        {
            ImageSize = Setting.ImageSize,
            ClassNames = Enumerable.Range(0, network.NumClasses).Select(i => $"class_{i}").ToList(),
        };
        if (Setting.Runtime == LatencyRuntime.Onnx) return OnnxExporter.ToBytes(network, options);
        var quantization = new QuantizationOptions { CalibrationSource = "seeded random images (timing only)", CalibrationImages = 8 };
        return Int8Exporter.ToBytes(network, options, quantization, _calibration.Value, Setting.Threads);
    }

    private readonly Lazy<IReadOnlyList<(float[] Data, int[] Shape)>> _calibration = new(() => RandomCalibration(setting.ImageSize));

    /// <summary>One batch of eight seeded N(0, 1) images.</summary>
    private static IReadOnlyList<(float[] Data, int[] Shape)> RandomCalibration(int imageSize)
    {
        using var generator = new Generator(7);
        using var x = randn(8, 3, imageSize, imageSize, generator: generator);
        return [(x.data<float>().ToArray(), new[] { 8, 3, imageSize, imageSize })];
    }

    /// <summary>Eager passes interleaved in blocks (5 passes at batch 1, 1 above, after one untimed pass when several
    /// networks alternate; each round starting one network later); each network folded once beforehand.</summary>
    private IReadOnlyList<double> EagerMedians(IReadOnlyList<IPrunableNetwork> networks, int runs)
    {
        int previous = get_num_threads();
        set_num_threads(Setting.Threads);
        var folded = new List<IPrunableNetwork>();
        try
        {
            foreach (var n in networks)
            {
                n.Module.eval();
                folded.Add(BatchNormFolding.IsFolded(n) ? n : BatchNormFolding.Fold(n));
            }
            int block = OnnxRuntimeLatency.BlockFor(Setting.BatchSize);
            var times = networks.Select(_ => new List<double>()).ToArray();
            for (int m = 0; m < folded.Count; m++)
                LatencyMeter.Measure(folded[m].Module, Setting.ImageSize, Setting.BatchSize, 1, Setting.Warmup, foldBatchNorm: false);
            for (int start = 0, round = 0; start < runs; start += block, round++)
            {
                int count = Math.Min(block, runs - start);
                for (int k = 0; k < folded.Count; k++)
                {
                    int m = (k + round) % folded.Count;
                    var stats = LatencyMeter.Measure(folded[m].Module, Setting.ImageSize, Setting.BatchSize, count,
                        block > 1 && folded.Count > 1 ? 1 : 0, foldBatchNorm: false);
                    times[m].Add(stats.MedianMs);
                }
            }
            return times.Select(t => LatencyStats.Summarise(t).Median).ToList();
        }
        finally
        {
            for (int m = 0; m < folded.Count; m++)
                if (!ReferenceEquals(folded[m], networks[m])) folded[m].Dispose();
            set_num_threads(previous);
        }
    }
}
