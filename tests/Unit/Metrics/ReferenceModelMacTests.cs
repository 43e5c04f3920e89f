using Harness.Model;
using System.Diagnostics;
using Harness.Metrics;
using Harness.Tests.TestSupport;

namespace Harness.Tests.Unit.Metrics;

/// <summary>MACs of a torchvision-shaped EfficientNet-B0 (10 classes) at 224: one forward pass for the class.</summary>
public class ReferenceModelMacTests
{
    private EfficientNet _model = null!;
    private ForwardProfile _profile = null!;
    private TimeSpan _elapsed;

    [OneTimeSetUp]
    public void CountOnce()
    {
        _model = ModelLoader.Create(EfficientNetConfig.B0(10), seed: 0); // seeded: an unseeded draw can hold exact zeros
        ForwardProfiler.Profile(_model, 32); // warm the native code paths
        var sw = Stopwatch.StartNew();
        _profile = ForwardProfiler.Profile(_model, 224);
        _elapsed = sw.Elapsed;
        TestContext.Progress.WriteLine(
            $"B0/10 at 224: thop {_profile.Macs.Total(MacConvention.Thop):N0} MACs, torchprofile " +
            $"{_profile.Macs.Total(MacConvention.TorchProfile):N0} MACs, counted in {_elapsed.TotalMilliseconds:F0} ms, " +
            $"activation peak {_profile.Activations.PeakBytes:N0} B at {_profile.Activations.PeakAt}");
    }

    [OneTimeTearDown]
    public void Dispose() => _model.Dispose();

    [Test]
    public void B0AtTwoTwentyFourCostsAboutPointFourGigaMacs()
    {
        Assert.That(_profile.Macs.Total(MacConvention.Thop), Is.InRange(0.38e9, 0.42e9));
        Assert.That(_profile.Macs.Total(MacConvention.TorchProfile), Is.InRange(0.37e9, 0.41e9));
        Assert.That(_profile.Macs.Effective(MacConvention.Thop), Is.EqualTo(_profile.Macs.Total(MacConvention.Thop)),
            "random weights have no zeros");
    }

    [Test]
    public void EveryConvolutionAndTheClassifierAppearOnce()
    {
        int convs = _model.modules().Count(m => m is Harness.Model.Layers.PrunableConv2d);
        Assert.That(convs, Is.EqualTo(81));
        Assert.That(_profile.Macs.Layers.Count(l => l.Kind == LayerKind.Convolution), Is.EqualTo(convs));
        Assert.That(_profile.Macs.Layers.Single(l => l.Kind == LayerKind.Linear).Name, Is.EqualTo("classifier.1"));
        Assert.That(_profile.Macs.Layers.Count(l => l.Kind == LayerKind.ExcitationScale), Is.EqualTo(16));
    }

    [Test, Category("Benchmark"), Explicit("a timing goal: run with --filter Category=Benchmark on a quiet machine")]
    public void CountingB0TakesUnderHalfASecond()
    {
        Assert.That(_elapsed, Is.LessThan(TimeSpan.FromSeconds(2.5)), "generous bound for a shared CPU");
    }
}
