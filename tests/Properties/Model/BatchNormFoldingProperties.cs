using FsCheck;
using FsCheck.Fluent;
using Harness.Model;
using Harness.Model.Families;
using Harness.Pruning.Channels;
using Harness.Pruning.FineGrained;
using Harness.Tests.TestSupport;
using static TorchSharp.torch;

namespace Harness.Tests.Properties.Model;

public class BatchNormFoldingProperties
{
    /// <summary>What is done to the network before folding: nothing, fine-grained masks, or channel pruning.</summary>
    public enum Variant { Dense, Masked, ChannelPruned }

    public sealed record Case(double Width, double Depth, int Classes, int Side, Variant Variant, double Ratio, int RoundTo, int Seed);

    private static Gen<Case> Cases =>
        from width in Gen.Choose(1, 10).Select(w => w / 20.0)
        from depth in Gen.Choose(1, 10).Select(d => d / 20.0)
        from classes in Gen.Choose(1, 20)
        from side in Gen.Choose(32, 64)
        from variant in Gen.Elements(Variant.Dense, Variant.Masked, Variant.ChannelPruned)
        from ratio in Gen.Choose(0, 90).Select(r => r / 100.0)
        from roundTo in Gen.Elements(1, 2, 4, 8)
        from seed in Gen.Choose(0, 1000)
        select new Case(width, depth, classes, side, variant, ratio, roundTo, seed);

    /// <summary>The network of a case, its BatchNorms given random statistics (after pruning, so a channel-pruned
    /// network's are random too), in eval mode.</summary>
    private static EfficientNet Build(Case c)
    {
        var model = EfficientNets.Create(EfficientNetConfig.Scaled(c.Width, c.Depth, c.Classes), (ulong)c.Seed);
        if (c.Variant == Variant.Masked)
            FineGrainedPruner.Prune(model, new FineGrainedOptions { Amount = c.Ratio, Method = FineGrainedMethods.Random, Seed = c.Seed });
        if (c.Variant == Variant.ChannelPruned)
        {
            var (pruned, _) = ChannelPruner.Prune(model, new ChannelPruningOptions { Ratio = c.Ratio, RoundTo = c.RoundTo, Seed = (ulong)c.Seed });
            model.Dispose();
            model = pruned;
        }
        RandomBatchNorm.Randomise(model, c.Seed);
        model.eval();
        return model;
    }

    [Test]
    public void FoldedModelGivesTheLogitsOfTheUnfoldedEvalModel()
    {
        double worst = 0;
        Prop.ForAll(Cases.ToArbitrary(), c =>
        {
            using var scope = NewDisposeScope();
            using var model = Build(c);
            using var folded = BatchNormFolding.Fold(model);
            using var _ = no_grad();
            var x = randn(2, 3, c.Side, c.Side);
            double diff = TensorAssert.MaxAbsDiff(model.call(x), folded.call(x));
            worst = Math.Max(worst, diff);
            return diff <= 1e-4;
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(30));
        TestContext.Out.WriteLine($"largest |Δ| over the cases: {worst:G3}");
    }

    /// <summary>ResNet-18 and MobileNetV2 (ResNet-50 shares their layers; dense, masked, channel-pruned at random ratios; random BatchNorm
    /// statistics): the folded network has no BatchNorm left and gives the unfolded eval logits (relative to their
    /// scale, 1e-5); the source keeps its BatchNorms.</summary>
    [Test]
    public void OtherArchitecturesFoldToNetworksWithoutBatchNormAndTheSameLogits()
    {
        var cases = from arch in Gen.Elements(Registry.OnePerFamilyBeyondEfficientNet)
                    from variant in Gen.Elements(Variant.Dense, Variant.Masked, Variant.ChannelPruned)
                    from ratio in Gen.Choose(0, 90).Select(r => r / 100.0)
                    from seed in Gen.Choose(0, 1000)
                    select (arch, variant, ratio, seed);
        double worst = 0;
        Prop.ForAll(cases.ToArbitrary(), c =>
        {
            using var scope = NewDisposeScope();
            manual_seed(c.seed);
            var model = Harness.Model.Networks.Architectures.Create(c.arch, 10).Build();
            if (c.variant == Variant.Masked)
                FineGrainedPruner.Prune(model.Module, new FineGrainedOptions { Amount = c.ratio, Method = FineGrainedMethods.Random, Seed = c.seed });
            if (c.variant == Variant.ChannelPruned)
            {
                var (pruned, _) = ChannelPruner.Prune(model, new ChannelPruningOptions { Ratio = c.ratio, RoundTo = 8 });
                model.Dispose();
                model = pruned;
            }
            using var disposeModel = model;
            ExportModels.RandomiseBatchNorm(model.Module, c.seed);
            model.Module.eval();
            using var folded = BatchNormFolding.Fold(model);
            using var _ = no_grad();
            var x = randn(2, 3, 32, 32);
            var expected = model.Module.call(x);
            double scale = Math.Max(1.0, expected.abs().max().item<float>());
            double diff = TensorAssert.MaxAbsDiff(expected, folded.Module.call(x)) / scale;
            worst = Math.Max(worst, diff);
            bool noNorms = !folded.Module.modules().OfType<TorchSharp.Modules.BatchNorm2d>().Any();
            bool sourceKept = model.Module.modules().OfType<TorchSharp.Modules.BatchNorm2d>().Any();
            return diff <= 1e-5 && noNorms && sourceKept && BatchNormFolding.IsFolded(folded) && !BatchNormFolding.IsFolded(model)
                   && !folded.PrunableLayers().Any(l => l.Layer.IsMasked);
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(12));
        TestContext.Out.WriteLine($"largest relative |Δ| over the cases: {worst:G3}");
    }
}
