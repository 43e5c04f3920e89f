using Harness.Metrics;
using Harness.Model.Families;
using Harness.Tests.TestSupport;
using System.Diagnostics;

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
        _model = EfficientNets.Create(EfficientNetConfig.B0(10), seed: 0); // seeded: an unseeded draw can hold exact zeros
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
    public void CountingB0TakesUnderTwoAndAHalfSeconds()
    {
        Assert.That(_elapsed, Is.LessThan(TimeSpan.FromSeconds(2.5)), "generous bound for a shared CPU");
    }
}

/// <summary>MACs of the 10-class ResNet-18, ResNet-50 and MobileNetV2 at 224 under both conventions, against what
/// thop (pytorch-OpCounter, its module hooks) and torchprofile (its jit-trace handlers) count for torchvision's own
/// definitions (torchvision 0.14, PyTorch 1.13, <c>thop.profile</c> and <c>torchprofile.profile_macs</c> on
/// <c>torchvision.models.X(num_classes=10)</c>, input 1×3×224×224). The rules these exercise: ReLU, ReLU6 and MaxPool
/// are free in both; residual adds are functional (thop never sees them, torchprofile's aten::add is free);
/// MobileNetV2's functional global pool costs its output elements in torchprofile only.</summary>
public class OtherArchitectureMacTests
{
    [TestCase("resnet18", 11_181_642L, 1_823_526_912L, 1_816_050_688L)]
    [TestCase("resnet50", 23_528_522L, 4_131_715_072L, 4_098_272_768L)]
    [TestCase("mobilenet_v2", 2_236_682L, 326_219_520L, 306_186_464L)]
    public void MacsAtTwoTwentyFourAreThoseThopAndTorchprofileCountForTorchvision(string arch, long parameters, long thop, long torchProfile)
    {
        TorchSharp.torch.manual_seed(0);
        using var model = Harness.Model.Networks.Architectures.Create(arch, 10).Build();
        var profile = ForwardProfiler.Profile(model.Module, 224);
        Assert.That(model.Module.parameters().Sum(p => p.numel()), Is.EqualTo(parameters));
        Assert.That(profile.Macs.Total(MacConvention.Thop), Is.EqualTo(thop), "thop");
        Assert.That(profile.Macs.Total(MacConvention.TorchProfile), Is.EqualTo(torchProfile), "torchprofile");
        Assert.That(profile.Macs.Layers.Count(l => l.Kind == LayerKind.Convolution),
            Is.EqualTo(model.PrunableLayers().Count() - 1), "every conv once (all prunable layers but the classifier)");
    }
}
