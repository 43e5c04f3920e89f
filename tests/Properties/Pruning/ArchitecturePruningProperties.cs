using FsCheck;
using FsCheck.Fluent;
using Harness.Model;
using Harness.Model.Channels;
using Harness.Model.Layers;
using Harness.Model.Networks;
using Harness.Pruning.Channels;
using Harness.Tests.TestSupport;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Harness.Tests.Properties.Pruning;

/// <summary>The channel-pruning properties of EfficientNet (<see cref="ChannelPruningProperties"/>) for the other
/// architectures, written once against <see cref="IPrunableNetwork"/>: torchvision's ResNet-18, ResNet-50 and
/// MobileNetV2 with 10 classes, at 32 px.</summary>
public class ArchitecturePruningProperties
{
    public static readonly string[] Archs = Registry.BeyondEfficientNet;

    private static Config Quick(string arch) => Config.QuickThrowOnFailure.WithMaxTest(arch == "resnet50" ? 3 : 8);

    private static IPrunableNetwork Make(string arch, int seed)
    {
        manual_seed(seed);
        var net = Architectures.Create(arch, 10).Build();
        ExportModels.RandomiseBatchNorm(net.Module, seed);
        return net;
    }

    private static Gen<(double Ratio, int RoundTo, int Seed)> Cases =>
        from r in Gen.Choose(0, 95) from rt in Gen.Elements(1, 2, 4, 8, 16) from s in Gen.Choose(0, 1000) select (r / 100.0, rt, s);

    [Test]
    public void PrunedNetworkRunsEveryWidthIsAMultipleOfRoundToAndItsCheckpointReadsBackIdentical([ValueSource(nameof(Archs))] string arch)
    {
        Prop.ForAll(Cases.ToArbitrary(), c =>
        {
            using var scope = NewDisposeScope();
            using var model = Make(arch, c.Seed);
            var (pruned, report) = ChannelPruner.Prune(model, new ChannelPruningOptions { Ratio = c.Ratio, RoundTo = c.RoundTo });
            string path = Path.Combine(Path.GetTempPath(), $"pruned-{Guid.NewGuid():N}.pth");
            try
            {
                using (pruned)
                {
                    ModelLoader.Save(pruned, path);
                    using var back = ModelLoader.LoadNetwork(path);
                    pruned.Module.eval();
                    back.Module.eval();
                    using var _ = no_grad();
                    using var x = randn(2, 3, 32, 32);
                    var y = pruned.Module.call(x);
                    return y.shape.SequenceEqual(new long[] { 2, 10 })
                           && report.Groups.All(g => g.After == g.Before || g.After % c.RoundTo == 0)
                           && back.Architecture == pruned.Architecture
                           && TensorAssert.Identical(y, back.Module.call(x))
                           && back.DeclareChannels().Spaces.Select(s => s.Width).SequenceEqual(pruned.DeclareChannels().Spaces.Select(s => s.Width));
                }
            }
            finally { File.Delete(path); }
        }).Check(Quick(arch));
    }

    /// <summary>Channels of any group (residual trunks included) whose producing convs have zero rows and whose
    /// BatchNorms have zero bias and mean carry zeros everywhere; removing them leaves the logits unchanged.</summary>
    [Test]
    public void PruningChannelsThatContributeNothingLeavesOutputsUnchanged([ValueSource(nameof(Archs))] string arch)
    {
        Prop.ForAll(Gen.Choose(0, 1000).ToArbitrary(), seed =>
        {
            using var scope = NewDisposeScope();
            using var model = Make(arch, seed);
            var graph = DependencyGraph.Build(model);
            var rng = new System.Random(seed);
            var group = graph.Groups[rng.Next(graph.Groups.Count)];
            var chosen = Enumerable.Range(0, group.Channels).OrderBy(_ => rng.Next()).Take(Math.Max(1, group.Channels / 3)).Order().ToArray();
            SilentChannels.Silence(model.Module, group, chosen);
            model.Module.eval();
            using var x = randn(2, 3, 32, 32);
            using var _ = no_grad();
            var before = model.Module.call(x);
            var (pruned, report) = ChannelPruner.PruneChannels(model, graph, new Dictionary<int, int[]> { [group.Id] = chosen });
            using (pruned)
            {
                pruned.Module.eval();
                var after = pruned.Module.call(x);
                double scale = Math.Max(1.0, before.abs().max().item<float>());
                return report.Groups[group.Id].After == group.Channels - chosen.Length
                       && TensorAssert.MaxAbsDiff(before, after) <= 1e-5 * scale;
            }
        }).Check(Quick(arch));
    }
}
