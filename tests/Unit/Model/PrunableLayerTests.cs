using Harness.Model.Families;
using Harness.Model.Layers;
using Harness.Tests.TestSupport;
using static TorchSharp.torch;

namespace Harness.Tests.Unit.Model;

public class PrunableLayerTests
{
    [Test]
    public void MaskingRenamesWeightLikeTorchPruneAndMakePermanentRestoresIt()
    {
        using var conv = new PrunableConv2d(4, 6, 3, padding: 1);
        Assert.That(conv.state_dict().Keys, Is.EquivalentTo(new[] { "weight", "bias" }));
        using var mask = (rand(conv.Weight.shape) > 0.5).to(float32);
        conv.ApplyMask(mask);
        Assert.That(conv.state_dict().Keys, Is.EquivalentTo(new[] { "weight_orig", "bias", "weight_mask" }));
        Assert.That(conv.named_parameters().Select(p => p.name), Is.EquivalentTo(new[] { "weight_orig", "bias" }));
        using var x = randn(2, 4, 8, 8);
        using var before = conv.call(x);
        conv.MakePermanent();
        Assert.That(conv.state_dict().Keys, Is.EquivalentTo(new[] { "weight", "bias" }));
        using var after = conv.call(x);
        Assert.That(TensorAssert.Identical(before, after), Is.True, "making pruning permanent does not change outputs");
        using var zeros = conv.Weight.eq(0).logical_or(mask.eq(1));
        Assert.That(zeros.all().item<bool>(), Is.True);
        conv.MakePermanent();
        Assert.That(conv.state_dict().Keys, Is.EquivalentTo(new[] { "weight", "bias" }), "idempotent");
    }

    [Test]
    public void GradientReachesOnlyUnmaskedWeights()
    {
        using var linear = new PrunableLinear(5, 3);
        using var mask = ones(3, 5);
        mask[0, 0] = tensor(0f);
        mask[2, 4] = tensor(0f);
        linear.ApplyMask(mask);
        using var y = linear.call(randn(7, 5));
        y.sum().backward();
        var grad = linear.Weight.grad!;
        Assert.That(grad[0, 0].item<float>(), Is.EqualTo(0f));
        Assert.That(grad[2, 4].item<float>(), Is.EqualTo(0f));
        Assert.That(grad.abs().sum().item<float>(), Is.GreaterThan(0f));
    }

    [Test]
    public void MaskWithWrongShapeIsRefused()
    {
        using var linear = new PrunableLinear(5, 3);
        Assert.That(() => linear.ApplyMask(ones(5, 3)), Throws.ArgumentException.With.Message.Contains("mask shape"));
    }

    [Test]
    public void MaskedModelStateDictHasOrigAndMaskKeys()
    {
        using var model = EfficientNet.Create(EfficientNetConfig.Scaled(0.25, 0.34, 10));
        var (name, layer) = model.PrunableLayers().First(l => l.Name.EndsWith("fc1"));
        layer.ApplyMask(ones_like(layer.Weight));
        var keys = model.state_dict().Keys.ToList();
        Assert.That(keys, Does.Contain($"{name}.weight_orig").And.Contain($"{name}.weight_mask"));
        Assert.That(keys, Does.Not.Contain($"{name}.weight"));
        Assert.That(EfficientNetWidths.FromStateDictShapes(model.state_dict().ToDictionary(k => k.Key, k => k.Value.shape)),
            Is.EqualTo(model.Widths));
    }
}
