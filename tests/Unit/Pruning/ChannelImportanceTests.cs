using Harness.Model.Channels;
using Harness.Model.Families;
using Harness.Model.Layers;
using Harness.Pruning.Channels;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Harness.Tests.Unit.Pruning;

/// <summary>The group score follows Torch-Pruning's GroupNormImportance(p=1): per member Σ|w| over its slice
/// (conv/linear out rows, in columns, BatchNorm γ), mean over the members, divided by the mean over channels;
/// depthwise kernels and biases are not read.</summary>
public class ChannelImportanceTests
{
    private static EfficientNet Tiny()
    {
        manual_seed(5);
        return EfficientNet.Create(EfficientNetConfig.Scaled(0.5, 0.34, 10));
    }

    [Test]
    public void StemGroupScoreIsTheMeanOfItsMembersL1NormalisedByItsMean()
    {
        using var scope = NewDisposeScope();
        using var model = Tiny();
        var graph = DependencyGraph.Build(model.Widths);
        var stem = graph.Groups[0];
        Assert.That(stem.Kind, Is.EqualTo(SpaceKind.Stem));
        var modules = model.named_modules().ToDictionary(m => m.name, m => m.module);
        Tensor W(string name) => ((PrunableLayer)modules[name]).Weight.detach().abs().to(float64);
        Tensor Gamma(string name) => ((BatchNorm2d)modules[name]).weight!.detach().abs().to(float64);

        var members = new[]
        {
            W("features.0.0").sum([1, 2, 3]),                  // stem conv outputs
            Gamma("features.0.1"),                              // its BatchNorm
            Gamma("features.1.0.block.0.1"),                    // the depthwise conv's BatchNorm (not the kernels)
            W("features.1.0.block.1.fc1").sum([0, 2, 3]),       // SE reduce inputs
            W("features.1.0.block.1.fc2").sum([1, 2, 3]),       // SE expand outputs (no bias)
            W("features.1.0.block.2.0").sum([0, 2, 3]),         // project inputs
        };
        var mean = stack(members).mean([0]);
        var expected = mean / mean.mean();

        var actual = ChannelImportance.Score(model, stem, ChannelImportances.L1);
        Assert.That((actual - expected).abs().max().item<double>(), Is.LessThan(1e-12));
    }

    [Test]
    public void DepthwiseKernelsChangeTheScoreOnlyWhenAskedFor()
    {
        using var scope = NewDisposeScope();
        using var model = Tiny();
        var graph = DependencyGraph.Build(model.Widths);
        var group = graph.Groups.First(g => g.Kind == SpaceKind.Expand);
        var depthwise = group.Members.Single(m => m.Role == ChannelRole.Depthwise).Layer;
        var before = ChannelImportance.Score(model, group, ChannelImportances.L1);
        var beforeWith = ChannelImportance.Score(model, group, ChannelImportances.L1, includeDepthwise: true);
        var conv = (PrunableConv2d)model.named_modules().Single(m => m.name == depthwise).module;
        using (no_grad()) conv.Weight[0].mul_(1000.0);

        var after = ChannelImportance.Score(model, group, ChannelImportances.L1);
        var afterWith = ChannelImportance.Score(model, group, ChannelImportances.L1, includeDepthwise: true);
        Assert.That(after.allclose(before, 0, 0), Is.True, "Torch-Pruning's rule: depthwise kernels are not scored");
        Assert.That(afterWith[0].item<double>(), Is.GreaterThan(beforeWith[0].item<double>()));
    }

    [TestCase(false)]
    [TestCase(true)]
    public void IgnoredLayerKeepsTheGroupsOfItsOwnChannelsWholeInLocalAndGlobalMode(bool global)
    {
        using var scope = NewDisposeScope();
        using var model = Tiny();
        var graph = DependencyGraph.Build(model.Widths);
        // The stem conv: its outputs are group 0; it reads only the 3 input channels, which are never pruned.
        var (pruned, report) = ChannelPruner.Prune(model, new ChannelPruningOptions
        {
            Ratio = 0.5,
            RoundTo = 1,
            Global = global,
            IgnoredLayers = ["features.0.0", "features.1.0.block.2.0"],
        });
        using (pruned)
        {
            Assert.That(report.Groups[0].After, Is.EqualTo(graph.Groups[0].Channels), "stem group: the stem conv's outputs");
            // The project conv of block 1 owns the outputs of group 1 (the first trunk) and only reads group 0.
            Assert.That(report.Groups[1].After, Is.EqualTo(graph.Groups[1].Channels), "first trunk: the project conv's outputs");
            Assert.That(report.Groups.Skip(2).Any(g => g.After < g.Before), "other groups are still pruned");
        }
    }
}
