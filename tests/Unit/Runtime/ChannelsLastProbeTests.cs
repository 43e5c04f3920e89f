using Harness.Runtime;
using Harness.Tests.TestSupport;
using static TorchSharp.torch;

namespace Harness.Tests.Unit.Runtime;

/// <summary>The once-per-process check of channels-last convolutions: what it reports agrees with the layout's own
/// results on the shape where libtorch's oneDNN fails on some CPUs, auto follows it, and asking for a broken layout by
/// name is one error line. (With <see cref="NativeSetup"/>'s cap, this machine computes right and takes the other
/// branches.)</summary>
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
            Assert.That(MemoryLayout.Preferred, Is.EqualTo(MemoryFormat.Auto), "a refused layout is not left behind");
        }
    }

    /// <summary>Float32 convolutions of shapes where libtorch 2.10's oneDNN went wrong on this project's Zen 5 machine
    /// (AVX kernels, both layouts) agree with a float64 im2col product, whatever <see cref="NativeSetup"/> decided.</summary>
    [Test]
    public void Float32ConvolutionsAgreeWithAFloat64Im2colProduct()
    {
        using var scope = NewDisposeScope();
        manual_seed(5);
        foreach (var (n, cin, cout, side, kernel, stride) in new[] { (4, 57, 344, 10, 3, 1), (2, 46, 381, 16, 3, 1), (2, 458, 302, 14, 1, 1), (1, 482, 296, 10, 1, 2), (2, 256, 512, 10, 1, 2) })
        {
            var x = randn(n, cin, side, side);
            var w = randn(cout, cin, kernel, kernel).div_(Math.Sqrt(cin * kernel * kernel));
            long pad = kernel / 2, outSide = (side + 2 * pad - kernel) / stride + 1;
            var columns = nn.functional.unfold(x.to(float64), kernel, padding: pad, stride: stride);
            var reference = w.to(float64).reshape(cout, -1).matmul(columns).reshape(n, cout, outSide, outSide);
            foreach (bool nhwc in new[] { false, true })
            {
                var input = nhwc ? x.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2) : x;
                double error = (nn.functional.conv2d(input, w, strides: [stride, stride], padding: [pad, pad]).to(float64) - reference).abs().max().item<double>();
                Assert.That(error, Is.LessThan(1e-3), $"{n}×{cin}→{cout} at {side} px, {kernel}×{kernel} stride {stride}, {(nhwc ? "channels-last" : "NCHW")}; {NativeSetup.Applied ?? "oneDNN uncapped"}");
            }
        }
    }
}
