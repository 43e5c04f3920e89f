using NUnit.Framework;
using TorchSharp;

namespace Harness.Tests.TestSupport;

/// <summary>Skips (never passes) a test that needs CUDA when no CUDA device is usable.</summary>
public static class Gpu
{
    public static void RequireCuda()
    {
        bool available;
        string why;
        try
        {
            available = torch.cuda.is_available();
            why = "torch.cuda.is_available() is false: this build uses the CPU libtorch " +
                  "(build with -p:TorchBackend=cuda on a machine with an NVIDIA GPU)";
        }
        catch (Exception ex)
        {
            available = false;
            why = $"CUDA backend could not be loaded: {ex.Message}";
        }
        if (!available)
            Assert.Ignore($"Skipped: needs CUDA. {why}.");
    }
}
