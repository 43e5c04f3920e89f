using Harness.Runtime;
using System.Globalization;
using static TorchSharp.torch;

namespace Harness.Metrics;

/// <summary>Memory of one forward pass: parameter bytes, the liveness peak of activations and the measured
/// growth of resident memory. On CUDA, TorchSharp 0.107 exposes no allocator statistics
/// (<c>torch.cuda.max_memory_allocated</c> and <c>reset_peak_memory_stats</c> are absent), so the CPU methods are
/// used there too and the record says so.</summary>
public static class MemoryMeter
{
    public const string CudaUnavailable =
        "TorchSharp 0.107 exposes no CUDA allocator statistics (max_memory_allocated / reset_peak_memory_stats); " +
        "the liveness and resident-memory methods are reported instead";

    /// <summary>Bytes of every parameter and buffer of <paramref name="model"/>.</summary>
    public static long ParameterBytes(nn.Module model) =>
        model.parameters().Sum(p => p.numel() * p.ElementSize) + model.buffers().Sum(b => b.numel() * b.ElementSize);

    /// <summary>Measures all figures; <paramref name="activations"/> comes from the profiling pass.</summary>
    public static MemoryFigures Measure(nn.Module<Tensor, Tensor> model, ActivationMemory activations,
        int imageSize = 224, int batchSize = 1)
    {
        var (growth, method) = ResidentGrowth(model, imageSize, batchSize);
        return new MemoryFigures(ParameterBytes(model), activations.PeakBytes, activations.PeakAt, growth, method,
            null, Placement.Of(model).IsCuda ? CudaUnavailable : null);
    }

    /// <summary>Growth of resident memory across one forward pass. On Linux the peak resident size is reset
    /// (<c>/proc/self/clear_refs</c> ← 5) before the pass and the growth is VmHWM after minus VmRSS before;
    /// where that reset is refused, VmRSS after minus before; elsewhere the working set after minus before.</summary>
    public static (long Bytes, string Method) ResidentGrowth(nn.Module<Tensor, Tensor> model, int imageSize,
        int batchSize)
    {
        var placement = Placement.Of(model);
        bool wasTraining = model.training;
        model.eval();
        try
        {
            using var noGrad = no_grad();
            using var drawn = placement.SeededInput([batchSize, 3, imageSize, imageSize], 1);
            // Laid out as the network runs it (as the batch loader delivers it): no layout copy is counted.
            var input = MemoryLayout.Prepare(drawn);
            using var laidOut = ReferenceEquals(input, drawn) ? null : input;
            bool peakReset = OperatingSystem.IsLinux() && TryResetPeak();
            long before = ReadStatus("VmRSS") ?? Environment.WorkingSet;
            using (NewDisposeScope())
            {
                model.call(input);
                if (peakReset && ReadStatus("VmHWM") is long peak)
                    return (Math.Max(0, peak - before),
                        "resident memory: peak VmHWM during the pass minus VmRSS before it (/proc/self/status, " +
                        "peak reset through /proc/self/clear_refs)");
            }
            if (ReadStatus("VmRSS") is long after)
                return (Math.Max(0, after - before),
                    "resident memory: VmRSS after the pass (outputs still held) minus VmRSS before it " +
                    "(/proc/self/status)");
            return (Math.Max(0, Environment.WorkingSet - before),
                "resident memory: working set after the pass minus before it (Environment.WorkingSet)");
        }
        finally
        {
            model.train(wasTraining);
        }
    }

    private static bool TryResetPeak()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static long? ReadStatus(string field)
    {
        const string path = "/proc/self/status";
        if (!File.Exists(path))
            return null;
        foreach (var line in File.ReadLines(path))
        {
            if (!line.StartsWith(field + ":", StringComparison.Ordinal))
                continue;
            var parts = line[(field.Length + 1)..].Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
            return long.Parse(parts[0], CultureInfo.InvariantCulture) * 1024;
        }
        return null;
    }
}
