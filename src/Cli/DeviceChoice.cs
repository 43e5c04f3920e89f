using static TorchSharp.torch;

namespace Harness.Cli;

/// <summary>--device: cpu, cuda or auto (cuda when available).</summary>
public static class DeviceChoice
{
    public static Device Parse(string value) => value.ToLowerInvariant() switch
    {
        "cpu" => CPU,
        "cuda" => cuda.is_available() ? CUDA : throw new ArgumentException("--device cuda: CUDA is not available in this build (build with -p:TorchBackend=cuda on a machine with an NVIDIA GPU)"),
        "auto" => cuda.is_available() ? CUDA : CPU,
        _ => throw new ArgumentException($"--device '{value}': expected cpu, cuda or auto"),
    };
}
