using Harness.Runtime;
using Harness.Tests.TestSupport;
using static TorchSharp.torch;

namespace Harness.Tests.Unit.Runtime;

/// <summary>The once-per-process check of channels-last convolutions: what it reports agrees with the layout's own
/// results on the shape where libtorch's oneDNN fails on some CPUs, auto follows it, and asking for a broken layout by
/// name is one error line.</summary>
[NonParallelizable] // MemoryLayout.Preferred is process-wide
public class ChannelsLastProbeTests
{
    [TearDown]
    public void Restore() => MemoryLayout.Preferred = MemoryFormat.Auto;

    [Test]
    public void TheProbeAgreesWithAResNetDownsampleComputedInBothLayouts()
    {
        using var scope = NewDisposeScope();
        manual_seed(3);
        // ResNet-18's layer4 downsample at 160 px: 1×1, 256 → 512 channels, stride 2, on a 10×10 map.
        var x = randn(4, 256, 10, 10);
        var w = randn(512, 256, 1, 1).mul_(1.0 / 16);
        var reference = nn.functional.conv2d(x.to(float64), w.to(float64), strides: [2, 2]);
        var nhwc = x.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2);
        double error = (nn.functional.conv2d(nhwc, w, strides: [2, 2]).to(float64) - reference).abs().max().item<double>();
        Assert.That(error <= 1e-3, Is.EqualTo(MemoryLayout.ChannelsLastIsSound), $"channels-last error {error:G3}; probe: {MemoryLayout.ChannelsLastFault ?? "sound"}");
        MemoryLayout.Preferred = MemoryFormat.Auto;
        Assert.That(MemoryLayout.IsChannelsLast(CPU), Is.EqualTo(MemoryLayout.ChannelsLastIsSound), "auto follows the probe on the CPU");
        Assert.That(MemoryLayout.EffectiveName(CPU), Is.EqualTo(MemoryLayout.ChannelsLastIsSound ? "channels-last" : "contiguous"));
    }

    [Test]
    public void ChannelsLastByNameIsRefusedWhereItIsWrongAndRunsWhereItIsRight()
    {
        var (code, _, error) = HarnessCli.Run("summary", "--weights", "none", "--arch", "resnet18", "--memory-format", "channels-last");
        if (MemoryLayout.ChannelsLastIsSound)
            Assert.That(code, Is.Zero, error);
        else
        {
            Assert.That(code, Is.EqualTo(2));
            Assert.That(error.Trim().Split('\n'), Has.Length.EqualTo(1));
            Assert.That(error, Does.StartWith("error: --memory-format channels-last: a 1×1 convolution"));
        }
        Assert.That(MemoryLayout.Preferred, Is.EqualTo(MemoryFormat.Auto));
    }
}
