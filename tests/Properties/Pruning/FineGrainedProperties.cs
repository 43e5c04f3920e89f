using FsCheck;
using FsCheck.Fluent;
using Harness.Model.Layers;
using Harness.Pruning.FineGrained;
using Harness.Storage.Checkpoints;
using static TorchSharp.torch;

namespace Harness.Tests.Properties.Pruning;

/// <summary>Properties of fine-grained pruning on random layers and tiny EfficientNets.</summary>
public class FineGrainedProperties
{
    private static readonly Config Quick = Config.QuickThrowOnFailure.WithMaxTest(25);

    /// <summary>A model of a few random prunable layers (convs of several shapes and a linear).</summary>
    private sealed class Stack : Harness.Model.Layers.ExplicitModule
    {
        public Stack(int seed) : base("Stack")
        {
            manual_seed(seed);
            var r = new System.Random(seed);
            for (int i = 0; i < 3; i++)
                Add($"c{i}", new PrunableConv2d(4 * r.Next(1, 4), 4 * r.Next(1, 4), r.Next(0, 2) * 2 + 1));
            Add("fc", new PrunableLinear(8 * r.Next(1, 3), r.Next(1, 6)));
        }

        public override Tensor forward(Tensor input) => input;
    }

    private static long Zeros(IEnumerable<(string, PrunableLayer)> layers) =>
        layers.Sum(l => { using var w = l.Item2.EffectiveWeight(); return w.numel() - w.count_nonzero().item<long>(); });

    private static Gen<double> Amounts => Gen.Choose(0, 100).Select(x => x / 100.0);

    [Test]
    public void GlobalPruningZeroesExactlyRoundedAmountOfAllWeights()
    {
        Prop.ForAll(Gen.Choose(0, 1000).ToArbitrary(), Amounts.ToArbitrary(), (seed, amount) =>
        {
            using var scope = NewDisposeScope();
            using var model = new Stack(seed);
            var opts = new FineGrainedOptions { Amount = amount, Scope = PruningScope.Global };
            var layers = FineGrainedPruner.SelectLayers(model, opts);
            long n = layers.Sum(l => l.Layer.Weight.numel());
            FineGrainedPruner.Prune(model, opts);
            return Zeros(layers) == (long)Math.Round(amount * n, MidpointRounding.ToEven);
        }).Check(Quick);
    }

    [Test]
    public void PerLayerPruningZeroesRoundedAmountOfEachLayer()
    {
        Prop.ForAll(Gen.Choose(0, 1000).ToArbitrary(), Amounts.ToArbitrary(), (seed, amount) =>
        {
            using var scope = NewDisposeScope();
            using var model = new Stack(seed);
            var opts = new FineGrainedOptions { Amount = amount, Scope = PruningScope.Layer, Method = FineGrainedMethods.Random, Seed = seed };
            var report = FineGrainedPruner.Prune(model, opts).Report;
            return report.Layers.All(l => l.Zeros == (long)Math.Round(amount * l.Elements, MidpointRounding.ToEven));
        }).Check(Quick);
    }

    [Test]
    public void GlobalL1KeepsTheLargestMagnitudes()
    {
        Prop.ForAll(Gen.Choose(0, 1000).ToArbitrary(), Amounts.ToArbitrary(), (seed, amount) =>
        {
            using var scope = NewDisposeScope();
            using var model = new Stack(seed);
            var opts = new FineGrainedOptions { Amount = amount };
            var layers = FineGrainedPruner.SelectLayers(model, opts);
            FineGrainedPruner.Prune(model, opts);
            var kept = cat(layers.Select(l => l.Layer.Weight.masked_select(l.Layer.Mask! > 0).abs()).ToList());
            var pruned = cat(layers.Select(l => l.Layer.Weight.masked_select(l.Layer.Mask! == 0).abs()).ToList());
            return kept.numel() == 0 || pruned.numel() == 0 || kept.min().item<float>() >= pruned.max().item<float>();
        }).Check(Quick);
    }

    [Test]
    public void IterationCompounds()
    {
        Prop.ForAll(Gen.Choose(0, 1000).ToArbitrary(), Amounts.ToArbitrary(), Amounts.ToArbitrary(), (seed, a, b) =>
        {
            using var scope = NewDisposeScope();
            using var model = new Stack(seed);
            var layers = FineGrainedPruner.SelectLayers(model, new FineGrainedOptions());
            long n = layers.Sum(l => l.Layer.Weight.numel());
            FineGrainedPruner.Prune(model, new FineGrainedOptions { Amount = a });
            FineGrainedPruner.Prune(model, new FineGrainedOptions { Amount = b, Method = FineGrainedMethods.Random, Seed = seed });
            long remaining = n - Zeros(layers);
            return Math.Abs(remaining - (1 - a) * (1 - b) * n) <= 1.0;
        }).Check(Quick);
    }

    [Test]
    public void NMPatternLeavesExactlyNNonzerosPerGroup()
    {
        var nm = from m in Gen.Elements(2, 4, 8) from n in Gen.Choose(0, m) from seed in Gen.Choose(0, 1000) select (n, m, seed);
        Prop.ForAll(nm.ToArbitrary(), c =>
        {
            using var scope = NewDisposeScope();
            manual_seed(c.seed);
            using var conv = new PrunableConv2d(16, 6, 3);
            var result = FineGrainedPruner.Prune(conv, new FineGrainedOptions { Granularity = Granularity.NM, N = c.n, M = c.m });
            var groups = conv.EffectiveWeight().permute(0, 2, 3, 1).reshape(-1, c.m).ne(0).sum(1);
            return result.SkippedLayers.Count == 0 && groups.eq(c.n).all().item<bool>();
        }).Check(Quick);
    }

    [Test]
    public void KernelAndVectorGranularitiesPruneWholeUnits()
    {
        Prop.ForAll(Gen.Choose(0, 1000).ToArbitrary(), Amounts.ToArbitrary(), Gen.Elements(Granularity.Kernel, Granularity.Vector).ToArbitrary(), (seed, amount, g) =>
        {
            using var scope = NewDisposeScope();
            manual_seed(seed);
            using var conv = new PrunableConv2d(6, 5, 3);
            FineGrainedPruner.Prune(conv, new FineGrainedOptions { Amount = amount, Granularity = g });
            var alive = conv.Mask!.ne(0);
            var perUnit = g == Granularity.Kernel ? alive.sum(new long[] { 2, 3 }) : alive.sum(new long[] { 3 });
            long size = g == Granularity.Kernel ? 9 : 3;
            long units = perUnit.numel();
            long prunedUnits = perUnit.eq(0).sum().item<long>();
            return (perUnit.eq(0) | perUnit.eq(size)).all().item<bool>()
                   && prunedUnits == (long)Math.Round(amount * units, MidpointRounding.ToEven);
        }).Check(Quick);
    }

    [Test]
    public void SameSeedGivesSameRandomMasks()
    {
        Prop.ForAll(Gen.Choose(0, 1000).ToArbitrary(), Amounts.ToArbitrary(), (seed, amount) =>
        {
            using var scope = NewDisposeScope();
            using var a = new Stack(3);
            using var b = new Stack(3);
            var opts = new FineGrainedOptions { Amount = amount, Method = FineGrainedMethods.Random, Seed = seed };
            FineGrainedPruner.Prune(a, opts);
            FineGrainedPruner.Prune(b, opts);
            var la = FineGrainedPruner.SelectLayers(a, opts);
            var lb = FineGrainedPruner.SelectLayers(b, opts);
            return la.Zip(lb).All(p => p.First.Layer.Mask!.equal(p.Second.Layer.Mask!).all().item<bool>());
        }).Check(Quick);
    }

    [Test]
    public void SparseFormatRoundTripsBitExact()
    {
        Prop.ForAll(Gen.Choose(0, 1000).ToArbitrary(), Amounts.ToArbitrary(), (seed, amount) =>
        {
            using var scope = NewDisposeScope();
            using var model = new Stack(seed);
            FineGrainedPruner.Prune(model, new FineGrainedOptions { Amount = amount });
            FineGrainedPruner.MakePermanent(model);
            using var sd = Harness.Storage.Checkpoints.StateDict.FromModule(model);
            sd.Add("special", tensor(new[] { -0.0f, float.NaN, 0f, float.NegativeInfinity }));
            string path = Path.Combine(Path.GetTempPath(), $"sparse-{Guid.NewGuid():N}.hsp");
            try
            {
                SparseCheckpoint.Save(path, sd);
                using var back = SparseCheckpoint.Load(path);
                return back.Keys.SequenceEqual(sd.Keys) && sd.Items.All(kv =>
                    back[kv.Key].dtype == kv.Value.dtype && back[kv.Key].shape.SequenceEqual(kv.Value.shape)
                    && back[kv.Key].bytes.ToArray().AsSpan().SequenceEqual(kv.Value.contiguous().bytes.ToArray()));
            }
            finally { File.Delete(path); }
        }).Check(Quick);
    }
}
