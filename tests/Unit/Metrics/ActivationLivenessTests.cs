using Harness.Metrics;
using static TorchSharp.torch;

namespace Harness.Tests.Unit.Metrics;

/// <summary>The activation peak of small chains, computed by hand.</summary>
public class ActivationLivenessTests
{
    [Test]
    public void AChainHoldsAtMostOneInputAndOneOutputAtOnce()
    {
        // 1×3×8×8 → conv(3→16, 3, pad 1) 1×16×8×8 → conv(16→4, 1) 1×4×8×8; float32.
        using var seq = nn.Sequential(nn.Conv2d(3, 16, 3, padding: 1), nn.Conv2d(16, 4, 1));
        var memory = ForwardProfiler.Profile(seq, [1, 3, 8, 8]).Activations;
        long input = 3 * 64 * 4, mid = 16 * 64 * 4, output = 4 * 64 * 4;
        // The sequential's input stays referenced by the caller until the sequential returns.
        Assert.That(memory.InputBytes, Is.EqualTo(input));
        Assert.That(memory.PeakBytes, Is.EqualTo(input + mid + output));
        Assert.That(memory.PeakAt, Is.EqualTo("1"));
    }

    [Test]
    public void AViewOfALiveTensorIsNotCountedTwice()
    {
        // Flatten returns a view of the pool's output: the same storage.
        using var seq = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten());
        var memory = ForwardProfiler.Profile(seq, [1, 32, 4, 4]).Activations;
        Assert.That(memory.PeakBytes, Is.EqualTo(32 * 16 * 4 + 32 * 4));
    }
}
