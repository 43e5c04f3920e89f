using Harness.Metrics;
using static TorchSharp.torch;

namespace Harness.Tests.Unit.Metrics;

/// <summary>Single layers counted by hand under both conventions, through the hooked forward pass.</summary>
public class MacRulesTests
{
    private static LayerMacs Only(nn.Module<Tensor, Tensor> layer, params long[] inputShape)
    {
        var report = ForwardProfiler.Profile(layer, inputShape).Macs;
        Assert.That(report.Layers, Has.Count.EqualTo(1));
        return report.Layers[0];
    }

    [Test]
    public void GroupedConvolutionCostsOutputElementsTimesInChannelsPerGroupTimesKernelArea()
    {
        using var conv = nn.Conv2d(8, 12, 3, padding: 1, groups: 4);
        var l = Only(conv, 1, 8, 10, 10);
        // 1·12·10·10 outputs × (8/4) inputs × 3·3 taps = 1200 × 18
        Assert.That(l.OutputShape, Is.EqualTo(new long[] { 1, 12, 10, 10 }));
        Assert.That(l.MacsThop, Is.EqualTo(21_600));
        Assert.That(l.MacsTorchProfile, Is.EqualTo(21_600));
        Assert.That(l.EffectiveWeightMacs, Is.EqualTo(21_600), "random weights have no zeros");
        Assert.That(l.Kind, Is.EqualTo(LayerKind.Convolution));
    }

    [Test]
    public void DepthwiseStridedConvolutionCostsOneInputChannelPerOutput()
    {
        using var conv = nn.Conv2d(16, 16, 5, stride: 2, padding: 2, groups: 16, bias: false);
        var l = Only(conv, 2, 16, 32, 32);
        // 2·16·16·16 = 8192 outputs × 1 × 25
        Assert.That(l.MacsThop, Is.EqualTo(204_800));
        Assert.That(l.MacsTorchProfile, Is.EqualTo(204_800));
    }

    [Test]
    public void EffectiveConvolutionSkipsZeroWeightsPerOutputChannel()
    {
        using var conv = nn.Conv2d(8, 12, 3, padding: 1, groups: 4);
        using (no_grad())
            conv.weight[TensorIndex.Slice(0, 6)].zero_();
        var l = Only(conv, 1, 8, 10, 10);
        // 6 live filters × 2·3·3 weights = 108 nonzero; 10·10 positions each
        Assert.That(l.EffectiveWeightMacs, Is.EqualTo(10_800));
        Assert.That(l.WeightDensity, Is.EqualTo(0.5));
        Assert.That(l.MacsThop, Is.EqualTo(21_600), "the dense count ignores zeros");
    }

    [Test]
    public void LinearCostsInTimesOutPerRow()
    {
        using var fc = nn.Linear(20, 7);
        var l = Only(fc, 3, 20);
        Assert.That(l.MacsThop, Is.EqualTo(420));
        Assert.That(l.MacsTorchProfile, Is.EqualTo(420));
        Assert.That(l.Kind, Is.EqualTo(LayerKind.Linear));
    }

    [Test]
    public void AffineBatchNormCostsFourTimesElementsInThopAndElementsInTorchProfile()
    {
        using var bn = nn.BatchNorm2d(6);
        var l = Only(bn, 2, 6, 5, 5);
        Assert.That(l.MacsThop, Is.EqualTo(1_200));
        Assert.That(l.MacsTorchProfile, Is.EqualTo(300));
    }

    [Test]
    public void NonAffineBatchNormCostsTwiceElementsInThopAndNothingInTorchProfile()
    {
        using var bn = nn.BatchNorm2d(6, affine: false);
        var l = Only(bn, 2, 6, 5, 5);
        Assert.That(l.MacsThop, Is.EqualTo(600));
        Assert.That(l.MacsTorchProfile, Is.EqualTo(0));
    }

    [Test]
    public void GlobalAveragePoolCostsKernelAreaPlusOnePerOutputInThopAndOutputsInTorchProfile()
    {
        using var pool = nn.AdaptiveAvgPool2d(1);
        var l = Only(pool, 1, 8, 7, 7);
        Assert.That(l.MacsThop, Is.EqualTo((49 + 1) * 8));
        Assert.That(l.MacsTorchProfile, Is.EqualTo(8));
    }

    [Test]
    public void AdaptivePoolToTwoByTwoUsesTheRatioOfSidesAsKernel()
    {
        using var pool = nn.AdaptiveAvgPool2d(2);
        var l = Only(pool, 1, 3, 6, 6);
        Assert.That(l.MacsThop, Is.EqualTo((9 + 1) * 12));
        Assert.That(l.MacsTorchProfile, Is.EqualTo(12));
    }

    [Test]
    public void ActivationsDropoutAndFlattenAreFree()
    {
        using var seq = nn.Sequential(nn.SiLU(), nn.Sigmoid(), nn.Dropout(0.2), nn.Flatten());
        var report = ForwardProfiler.Profile(seq, [2, 3, 4, 4]).Macs;
        Assert.That(report.Layers.Select(l => l.Kind), Is.All.EqualTo(LayerKind.Free));
        Assert.That(report.Total(MacConvention.Thop), Is.Zero);
        Assert.That(report.Total(MacConvention.TorchProfile), Is.Zero);
    }

    [Test]
    public void ALeafWithParametersButNoRuleIsRefusedByName()
    {
        using var seq = nn.Sequential(("norm", nn.LayerNorm(4)));
        var ex = Assert.Throws<NotSupportedException>(() => ForwardProfiler.Profile(seq, [1, 4]));
        Assert.That(ex!.Message, Does.Contain("'norm'").And.Contain("LayerNorm"));
    }

    [Test]
    public void FlopsAreTwiceMacsAndSharesSumToOne()
    {
        using var seq = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
            nn.Linear(4, 2));
        var report = ForwardProfiler.Profile(seq, [1, 3, 8, 8]).Macs;
        // conv 4·6·6 × 27 = 3888; bn 4·144 = 576; pool (36+1)·4 = 148; linear 8
        Assert.That(report.Total(MacConvention.Thop), Is.EqualTo(3888 + 576 + 148 + 8));
        Assert.That(report.Total(MacConvention.TorchProfile), Is.EqualTo(3888 + 144 + 4 + 8));
        Assert.That(report.Flops(MacConvention.Thop), Is.EqualTo(2 * report.Total(MacConvention.Thop)));
        Assert.That(report.Layers.Sum(l => report.Share(l, MacConvention.Thop)), Is.EqualTo(1.0).Within(1e-12));
        Assert.That(report.Layers.Select(l => l.Name), Is.EqualTo(new[] { "0", "1", "2", "3", "4" }));
    }

    [Test]
    public void ProfilingRestoresTheTrainingFlag()
    {
        using var seq = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4));
        seq.train();
        ForwardProfiler.Profile(seq, [1, 3, 8, 8]);
        Assert.That(seq.training, Is.True);
    }
}
