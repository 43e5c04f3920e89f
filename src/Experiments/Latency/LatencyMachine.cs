namespace Harness.Experiments.Latency;

/// <summary>The machine a latency was measured on, as the cache key and the results record it: the CPU's model name,
/// its logical cores, the oneDNN ISA cap Harness sets, and the versions of ONNX Runtime and libtorch. A table measured
/// on another CPU or runtime version is not reused.</summary>
public static class LatencyMachine
{
    private static readonly Lazy<string> Text = new(Build);

    public static string Describe() => Text.Value;

    private static string Build()
    {
        string cpu = "unknown CPU";
        try
        {
            if (File.Exists("/proc/cpuinfo"))
                cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? cpu;
        }
        catch (IOException) { }
        string isa = Environment.GetEnvironmentVariable("ONEDNN_MAX_CPU_ISA") ?? "default";
        string ort = Microsoft.ML.OnnxRuntime.OrtEnv.Instance().GetVersionString();
        return $"{cpu}, {Environment.ProcessorCount} logical cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription.Trim()}; " +
               $"ONNX Runtime {ort}, TorchSharp {typeof(TorchSharp.torch).Assembly.GetName().Version}, oneDNN ISA cap {isa}";
    }
}
