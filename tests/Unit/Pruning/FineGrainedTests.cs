using Harness.Model;
using Harness.Model.Families;
using Harness.Pruning.FineGrained;
using Harness.Storage.Checkpoints;
using Harness.Tests.TestSupport;
using System.Diagnostics;
using static TorchSharp.torch;

namespace Harness.Tests.Unit.Pruning;

public class FineGrainedTests
{
    private static EfficientNet Tiny(int seed = 0)
    {
        manual_seed(seed);
        return EfficientNet.Create(EfficientNetConfig.Scaled(0.25, 0.34, 10));
    }

    private static void Train(EfficientNet model, int steps)
    {
        model.train();
        using var opt = optim.SGD(model.parameters(), 0.05, momentum: 0.9, weight_decay: 5e-4);
        for (int i = 0; i < steps; i++)
        {
            using var scope = NewDisposeScope();
            opt.zero_grad();
            var loss = nn.functional.cross_entropy(model.call(randn(4, 3, 32, 32)), randint(0, 10, 4));
            loss.backward();
            opt.step();
        }
    }

    private static long PrunedNonzero(EfficientNet model, Dictionary<string, Tensor> masks) =>
        model.PrunableLayers().Sum(l =>
        {
            using var w = l.Layer.IsMasked ? l.Layer.EffectiveWeight() : l.Layer.Weight.detach().clone();
            return w.masked_select(masks[l.Name] == 0).count_nonzero().item<long>();
        });

    [Test]
    public void PrunedWeightsStayExactlyZeroWhileMasksAreActiveButRegrowOnceMadePermanent()
    {
        using var model = Tiny();
        FineGrainedPruner.Prune(model, new FineGrainedOptions { Amount = 0.5 });
        var masks = model.PrunableLayers().ToDictionary(l => l.Name, l => l.Layer.Mask!.clone());
        Train(model, 5);
        Assert.That(PrunedNonzero(model, masks), Is.Zero, "masks active: pruned weights are exactly zero after SGD with momentum and weight decay");

        FineGrainedPruner.MakePermanent(model);
        Assert.That(PrunedNonzero(model, masks), Is.Zero, "making permanent keeps the zeros at that moment");
        Train(model, 3);
        Assert.That(PrunedNonzero(model, masks), Is.GreaterThan(0),
            "after remove(), PyTorch-style plain weights regrow under training: the study's belief does not hold");
    }

    [Test]
    public void MakePermanentLeavesOutputsUnchangedAndIsIdempotent()
    {
        using var model = Tiny(1);
        FineGrainedPruner.Prune(model, new FineGrainedOptions { Amount = 0.3, Granularity = Granularity.Kernel });
        model.eval();
        using var x = randn(2, 3, 32, 32);
        using var _ = no_grad();
        using var before = model.call(x);
        var report = FineGrainedPruner.MakePermanent(model);
        Assert.That(model.state_dict().Keys.Any(k => k.EndsWith("_orig") || k.EndsWith("_mask")), Is.False);
        using var after = model.call(x);
        TensorAssert.AreIdentical(before, after);
        var again = FineGrainedPruner.MakePermanent(model);
        Assert.That(again.Zeros, Is.EqualTo(report.Zeros));
    }

    [Test]
    public void SaveLoadRoundTripsWithActiveMasksAndAfterMakingPermanent()
    {
        using var model = Tiny(2);
        FineGrainedPruner.Prune(model, new FineGrainedOptions { Amount = 0.5, Method = FineGrainedMethods.Random, Seed = 7 });
        string dir = Directory.CreateTempSubdirectory("harness-fg-").FullName;
        try
        {
            using var x = randn(2, 3, 32, 32);
            foreach (bool permanent in new[] { false, true })
            {
                if (permanent) FineGrainedPruner.MakePermanent(model);
                string path = Path.Combine(dir, $"m{permanent}.pth");
                ModelLoader.Save(model, path);
                using var back = EfficientNets.LoadCheckpoint(path);
                Assert.That(back.state_dict().Keys, Is.EquivalentTo(model.state_dict().Keys));
                model.eval(); back.eval();
                using var _ = no_grad();
                TensorAssert.AreIdentical(model.call(x), back.call(x), permanent ? "permanent" : "masked");
            }
        }
        finally { Directory.Delete(dir, true); }
    }

    [TestCase(-0.1)]
    [TestCase(1.5)]
    [TestCase(double.NaN)]
    public void InvalidFractionsAreRefused(double amount)
    {
        using var model = Tiny();
        var ex = Assert.Throws<ArgumentException>(() => FineGrainedPruner.Prune(model, new FineGrainedOptions { Amount = amount }));
        Assert.That(ex!.Message, Does.Contain("amount"));
    }

    [TestCase(PruningScope.Global, 0, 1, "--scope Layer")]
    [TestCase(PruningScope.Layer, 2, 1, "--dim 2")]
    [TestCase(PruningScope.Layer, 0, 3, "--norm 3")]
    public void StructuredPruningRefusesOptionsLnStructuredDoesNotHave(PruningScope scope, int dim, int norm, string named)
    {
        using var model = Tiny();
        var ex = Assert.Throws<ArgumentException>(() => FineGrainedPruner.Prune(model,
            new FineGrainedOptions { Granularity = Granularity.Structured, Scope = scope, Dim = dim, Norm = norm }));
        Assert.That(ex!.Message, Does.Contain(named));
    }

    [TestCase(0, 1)]
    [TestCase(1, 1)]
    [TestCase(0, 2)]
    public void StructuredPruningMasksWholeSlicesWithTheSmallestNorms(int dim, int norm)
    {
        using var conv = new Harness.Model.Layers.PrunableConv2d(6, 4, 3);
        using (no_grad())
        {
            // Slice i along dim has every weight equal to ±(i + 1): the norms rank the slices by index.
            var scale = arange(1, (dim == 0 ? 4 : 6) + 1, float32).view(dim == 0 ? [4, 1, 1, 1] : [1, 6, 1, 1]);
            conv.Weight.copy_(scale * sign(randn(4, 6, 3, 3)));
        }
        FineGrainedPruner.Prune(conv, new FineGrainedOptions { Granularity = Granularity.Structured, Scope = PruningScope.Layer, Dim = dim, Norm = norm, Amount = 0.5 });
        var kept = conv.Mask!.sum(dim == 0 ? [1L, 2, 3] : [0L, 2, 3]);
        long slice = dim == 0 ? 6 * 9 : 4 * 9;
        int slices = dim == 0 ? 4 : 6;
        var expected = Enumerable.Range(0, slices).Select(i => i < slices / 2 ? 0f : slice).ToArray();
        Assert.That(kept.data<float>().ToArray(), Is.EqualTo(expected));
    }

    [Test]
    public void CountAboveTheNumberOfWeightsIsRefused()
    {
        using var conv = new Harness.Model.Layers.PrunableConv2d(2, 2, 1);
        Assert.Throws<ArgumentException>(() => FineGrainedPruner.Prune(conv, new FineGrainedOptions { Amount = 5, AmountIsCount = true }));
        FineGrainedPruner.Prune(conv, new FineGrainedOptions { Amount = 3, AmountIsCount = true });
        Assert.That(conv.Mask!.sum().item<float>(), Is.EqualTo(1f));
    }

    [Test]
    public void SparseCheckpointOfB0MeetsTheSizeGoals()
    {
        string dir = Directory.CreateTempSubdirectory("harness-sparse-").FullName;
        try
        {
            manual_seed(0);
            using var reference = EfficientNet.Create(EfficientNetConfig.B0(10));
            string dense = Path.Combine(dir, "dense.pth");
            ModelLoader.Save(reference, dense);
            double denseBytes = new FileInfo(dense).Length;
            var ratios = new List<(double Sparsity, double Ratio)>();
            foreach (var sparsity in new[] { 0.5, 0.9 })
            {
                using var model = EfficientNets.LoadCheckpoint(dense);
                FineGrainedPruner.Prune(model, new FineGrainedOptions { Amount = sparsity });
                FineGrainedPruner.MakePermanent(model);
                string sparse = Path.Combine(dir, $"s{sparsity}.hsp");
                using var sd = StateDict.FromModule(model);
                SparseCheckpoint.Save(sparse, sd);
                using var back = SparseCheckpoint.Load(sparse);
                Assert.That(sd.Items.All(kv => back[kv.Key].bytes.ToArray().AsSpan().SequenceEqual(kv.Value.bytes.ToArray())), "bit-exact");
                ratios.Add((sparsity, new FileInfo(sparse).Length / denseBytes));
            }
            foreach (var (s, r) in ratios) TestContext.Out.WriteLine($"sparsity {s:P0}: sparse file = {r:P1} of the dense PyTorch file");
            Assert.That(ratios[0].Ratio, Is.LessThanOrEqualTo(0.55));
            Assert.That(ratios[1].Ratio, Is.LessThanOrEqualTo(0.15));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Test, Category("Benchmark"), Explicit("a timing goal: run with --filter Category=Benchmark on a quiet machine")]
    public void GlobalL1PruningOfB0AtHalfTakesUnderThreeSeconds()
    {
        using var model = EfficientNet.Create(EfficientNetConfig.B0(10));
        FineGrainedPruner.Prune(model, new FineGrainedOptions { Amount = 0.1 }); // warm-up
        FineGrainedPruner.MakePermanent(model);
        var sw = Stopwatch.StartNew();
        FineGrainedPruner.Prune(model, new FineGrainedOptions { Amount = 0.5 });
        sw.Stop();
        TestContext.Out.WriteLine($"global L1 pruning of B0 at 0.5: {sw.Elapsed.TotalMilliseconds:F0} ms");
        Assert.That(sw.Elapsed, Is.LessThan(TimeSpan.FromSeconds(3)), "the bound asserted; about 1 s on a quiet machine");
    }
}
