using static TorchSharp.torch;

namespace Harness.Tests.Unit;

public class NativeLoadTests
{
    [Test]
    public void LibTorchLoadsAndRunsAConvolution()
    {
        using var scope = NewDisposeScope();
        var x = ones(1, 1, 3, 3);
        var w = ones(1, 1, 3, 3);
        var y = nn.functional.conv2d(x, w, padding: new long[] { 1, 1 });
        Assert.That(y.shape, Is.EqualTo(new long[] { 1, 1, 3, 3 }));
        Assert.That(y[0, 0, 1, 1].item<float>(), Is.EqualTo(9f));
        Assert.That(y[0, 0, 0, 0].item<float>(), Is.EqualTo(4f));
    }
}
