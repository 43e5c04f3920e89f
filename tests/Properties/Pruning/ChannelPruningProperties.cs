using FsCheck;
using FsCheck.Fluent;
using Harness.Metrics;
using Harness.Model;
using Harness.Model.Channels;
using Harness.Model.Families;
using Harness.Pruning.Channels;
using Harness.Tests.TestSupport;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Harness.Tests.Properties.Pruning;

public class ChannelPruningProperties
{
    /// <summary>Every property runs on a tiny EfficientNet variant (many cases) and on the real B0 layout with 10
    /// classes (fewer cases: each prunes a 4-million-parameter model).</summary>
    public enum Net { Tiny, B0 }

    private static Config Quick(Net net) => Config.QuickThrowOnFailure.WithMaxTest(net == Net.Tiny ? 12 : 6);

    private static EfficientNet Make(Net net, int seed)
    {
        manual_seed(seed);
        return EfficientNet.Create(net == Net.Tiny ? EfficientNetConfig.Scaled(0.5, 0.34, 10) : EfficientNetConfig.B0(10));
    }

    private static Gen<(double Ratio, int RoundTo, int Seed)> Cases =>
        from r in Gen.Choose(0, 95) from rt in Gen.Elements(1, 2, 4, 8, 16) from s in Gen.Choose(0, 1000) select (r / 100.0, rt, s);

    [Test]
    public void PrunedModelRunsAndEveryPrunedWidthIsAMultipleOfRoundTo([Values] Net net)
    {
        Prop.ForAll(Cases.ToArbitrary(), c =>
        {
            using var scope = NewDisposeScope();
            using var model = Make(net, c.Seed);
            var (pruned, report) = ChannelPruner.Prune(model, new ChannelPruningOptions { Ratio = c.Ratio, RoundTo = c.RoundTo });
            using (pruned)
            {
                pruned.eval();
                using var _ = no_grad();
                var y = pruned.call(randn(2, 3, 32, 32));
                return y.shape.SequenceEqual(new long[] { 2, 10 })
                       && report.Groups.All(g => g.After == g.Before || g.After % c.RoundTo == 0);
            }
        }).Check(Quick(net));
    }

    /// <summary>Holds in the mode that never leaves a group untouched. Torch-Pruning's own rule (a group that would
    /// keep nothing keeps everything) is not monotonic: see <see cref="TorchPruningRuleCanKeepMoreAtAHigherRatio"/>.</summary>
    [Test]
    public void ParametersAndFlopsNeverIncreaseWithTheRatio([Values] Net net)
    {
        Prop.ForAll(Gen.Choose(0, 90).ToArbitrary(), Gen.Choose(0, 90).ToArbitrary(), Gen.Elements(1, 4, 8).ToArbitrary(), (a, b, rt) =>
        {
            using var scope = NewDisposeScope();
            using var model = Make(net, 3);
            (long Params, long Macs) Measure(double ratio)
            {
                var (p, _) = ChannelPruner.Prune(model, new ChannelPruningOptions { Ratio = ratio, RoundTo = rt, NeverUntouched = true });
                using (p) return (p.parameters().Sum(x => x.numel()), MacCounter.Count(p, 32).Total(MacConvention.Thop));
            }
            var lo = Measure(Math.Min(a, b) / 100.0);
            var hi = Measure(Math.Max(a, b) / 100.0);
            return hi.Params <= lo.Params && hi.Macs <= lo.Macs;
        }).Check(Quick(net));
    }

    [Test]
    public void TorchPruningRuleCanKeepMoreAtAHigherRatio()
    {
        // A 40-channel group with round_to 8: ratio 0.78 keeps int(8.8) = 8; ratio 0.86 would keep int(5.6) = 5 → 0,
        // so Torch-Pruning leaves it untouched (40). NeverUntouched keeps 8 instead.
        var tp = new ChannelPruningOptions { RoundTo = 8 };
        Assert.That((tp.KeptWidth(40, 0.78), tp.KeptWidth(40, 0.86)), Is.EqualTo((8, 40)));
        var never = tp with { NeverUntouched = true };
        Assert.That((never.KeptWidth(40, 0.78), never.KeptWidth(40, 0.86)), Is.EqualTo((8, 8)));
        Assert.That(never.KeptWidth(8, 0.9), Is.EqualTo(8), "a group no larger than round_to stays whole in both modes");
    }

    [Test]
    public void PruningChannelsThatContributeNothingLeavesOutputsUnchanged([Values] Net net)
    {
        Prop.ForAll(Gen.Choose(0, 1000).ToArbitrary(), seed =>
        {
            using var scope = NewDisposeScope();
            using var model = Make(net, seed);
            var graph = DependencyGraph.Build(model.Widths);
            var rng = new System.Random(seed);
            var expandGroups = graph.Groups.Where(g => g.Kind == SpaceKind.Expand).ToList();
            var group = expandGroups[rng.Next(expandGroups.Count)];
            var chosen = Enumerable.Range(0, group.Channels).OrderBy(_ => rng.Next()).Take(Math.Max(1, group.Channels / 3)).Order().ToArray();
            SilentChannels.Silence(model, group, chosen);
            model.eval();
            using var x = randn(2, 3, 32, 32);
            using var _ = no_grad();
            var before = model.call(x);
            var (pruned, report) = ChannelPruner.PruneChannels(model, graph, new Dictionary<int, int[]> { [group.Id] = chosen });
            using (pruned)
            {
                pruned.eval();
                var after = pruned.call(x);
                return report.Groups[group.Id].After == group.Channels - chosen.Length
                       && TensorAssert.MaxAbsDiff(before, after) <= 1e-5;
            }
        }).Check(Quick(net));
    }

    [Test]
    public void SaveLoadOfAPrunedModelGivesIdenticalOutputs([Values] Net net)
    {
        Prop.ForAll(Cases.ToArbitrary(), c =>
        {
            using var scope = NewDisposeScope();
            using var model = Make(net, c.Seed);
            var (pruned, _) = ChannelPruner.Prune(model, new ChannelPruningOptions { Ratio = c.Ratio, RoundTo = c.RoundTo, Importance = ChannelImportances.L2 });
            string path = Path.Combine(Path.GetTempPath(), $"pruned-{Guid.NewGuid():N}.pth");
            try
            {
                using (pruned)
                {
                    ModelLoader.Save(pruned, path);
                    using var back = EfficientNets.LoadCheckpoint(path);
                    pruned.eval(); back.eval();
                    using var x = randn(1, 3, 32, 32);
                    using var _ = no_grad();
                    return TensorAssert.Identical(pruned.call(x), back.call(x)) && back.Widths.Equals(pruned.Widths);
                }
            }
            finally { File.Delete(path); }
        }).Check(Quick(net));
    }
}
