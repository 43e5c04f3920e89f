using Harness.Model;
using Harness.Model.Families;
using Harness.Pruning.Channels;
using Harness.Pruning.FineGrained;
using Harness.Tests.TestSupport;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Harness.Tests.Unit.Model;

public class BatchNormFoldingTests
{
    private static EfficientNet Tiny(int seed)
    {
        var model = EfficientNets.Create(EfficientNetConfig.Scaled(0.25, 0.34, 10), (ulong)seed);
        RandomBatchNorm.Randomise(model, seed);
        model.eval();
        return model;
    }

    /// <summary>Largest |Δ| between the logits of the model and of its folded copy on one random batch.</summary>
    private static double FoldedDifference(EfficientNet model, int side = 32, int batch = 4)
    {
        model.eval();
        using var folded = BatchNormFolding.Fold(model);
        using var _ = no_grad();
        manual_seed(5);
        using var x = randn(batch, 3, side, side);
        using var expected = model.call(x);
        using var actual = folded.call(x);
        double diff = TensorAssert.MaxAbsDiff(expected, actual);
        TestContext.Out.WriteLine($"max |logit| {expected.abs().max().item<float>():G4}, max |Δ| {diff:G3}");
        return diff;
    }

    /// <summary>What is done to B0 before folding.</summary>
    public enum B0Variant { Dense, Masked, ChannelPruned }

    [Test]
    public void FoldedB0GivesTheLogitsOfTheUnfoldedEvalModel([Values] B0Variant variant)
    {
        var model = EfficientNets.Create(EfficientNetConfig.B0(10), 3);
        if (variant == B0Variant.Masked)
            FineGrainedPruner.Prune(model, new FineGrainedOptions { Amount = 0.5, Scope = PruningScope.Global });
        if (variant == B0Variant.ChannelPruned)
        {
            var (pruned, _) = ChannelPruner.Prune(model, new ChannelPruningOptions { Ratio = 0.5 });
            model.Dispose();
            model = pruned;
        }
        using (model)
        {
            RandomBatchNorm.Randomise(model, 3);
            Assert.That(FoldedDifference(model, side: 224, batch: 2), Is.LessThanOrEqualTo(1e-4));
        }
    }

    [Test]
    public void FoldedTinyModelGivesTheLogitsOfTheUnfoldedEvalModel()
    {
        using var model = Tiny(1);
        Assert.That(FoldedDifference(model), Is.LessThanOrEqualTo(1e-4));
    }

    [Test]
    public void FoldingAMaskedModelFoldsTheEffectiveWeightsAndKeepsPrunedEntriesZero()
    {
        using var model = Tiny(2);
        FineGrainedPruner.Prune(model, new FineGrainedOptions { Amount = 0.5, Scope = PruningScope.Global });
        Assert.That(FoldedDifference(model), Is.LessThanOrEqualTo(1e-4));
        using var folded = BatchNormFolding.Fold(model);
        var layers = folded.PrunableLayers().ToDictionary(l => l.Name, l => l.Layer);
        foreach (var (name, layer) in model.PrunableLayers())
        {
            Assert.That(layers[name].IsMasked, Is.False, name);
            using var pruned = layer.Mask!.eq(0);
            using var kept = layers[name].Weight.masked_select(pruned);
            Assert.That(kept.numel() == 0 || kept.eq(0).all().item<bool>(), Is.True, $"{name}: a pruned entry is not zero after folding");
        }
    }

    [Test]
    public void FoldingAChannelPrunedModelGivesItsLogits()
    {
        using var model = Tiny(3);
        var (pruned, _) = ChannelPruner.Prune(model, new ChannelPruningOptions { Ratio = 0.5, RoundTo = 4 });
        using (pruned)
        {
            RandomBatchNorm.Randomise(pruned, 4);
            Assert.That(FoldedDifference(pruned), Is.LessThanOrEqualTo(1e-4));
        }
    }

    [Test]
    public void FoldedModelHasConvBiasesAndNoBatchNormButTorchvisionNamesOtherwise()
    {
        using var model = Tiny(4);
        using var folded = BatchNormFolding.Fold(model);
        var keys = folded.state_dict().Keys.ToList();
        Assert.That(folded.IsFolded, Is.True);
        Assert.That(folded.modules().OfType<BatchNorm2d>(), Is.Empty);
        Assert.That(keys, Does.Contain("features.0.0.bias").And.Contain("features.1.0.block.1.fc1.weight").And.Contain("classifier.1.bias"));
        Assert.That(keys.Where(k => k.Contains("running_", StringComparison.Ordinal)), Is.Empty);
        Assert.That(folded.Widths, Is.EqualTo(model.Widths));
    }

    [Test]
    public void FoldingAModelInTrainModeIsRefused()
    {
        using var model = Tiny(5);
        model.train();
        var ex = Assert.Throws<InvalidOperationException>(() => BatchNormFolding.Fold(model));
        Assert.That(ex!.Message, Does.Contain("eval mode"));
    }

    [Test]
    public void AFoldedModelRefusesTrainModeSavingAndASecondFold()
    {
        using var model = Tiny(6);
        using var folded = BatchNormFolding.Fold(model);
        Assert.Throws<InvalidOperationException>(() => BatchNormFolding.Fold(folded));
        Assert.Throws<InvalidOperationException>(() => ModelLoader.Save(folded, Path.Combine(Path.GetTempPath(), $"folded-{Guid.NewGuid():N}.pth")));
        folded.train();
        using var x = randn(1, 3, 32, 32);
        var ex = Assert.Throws<InvalidOperationException>(() => folded.call(x).Dispose());
        Assert.That(ex!.Message, Does.Contain("eval mode only"));
    }

    [Test]
    public void FoldingLeavesTheOriginalModelUnchanged()
    {
        using var model = Tiny(7);
        FineGrainedPruner.Prune(model, new FineGrainedOptions { Amount = 0.3, Scope = PruningScope.Global });
        var before = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone());
        using (BatchNormFolding.Fold(model)) { }
        var after = model.state_dict();
        Assert.That(after.Keys, Is.EqualTo(before.Keys));
        foreach (var (k, v) in before) Assert.That(TensorAssert.Identical(v, after[k]), Is.True, $"{k} changed");
        Assert.That(model.IsFolded, Is.False);
        Assert.That(model.training, Is.False);
        foreach (var v in before.Values) v.Dispose();
    }
}
