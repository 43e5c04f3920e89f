using Harness.Model.Channels;
using Harness.Model.Families;
using Harness.Pruning.Channels;
using Snapshooter.NUnit;
using static TorchSharp.torch;

namespace Harness.Tests.Regression.Pruning;

/// <summary>Approved snapshots: the dependency graph of B0, and the widths Torch-Pruning's arithmetic gives at
/// ratio 0.2 and 0.8 (L1, round_to 8, classifier outputs ignored).</summary>
public class ChannelPruningSnapshotTests
{
    [Test]
    public void DependencyGraphOfB0HasFortyGroups()
    {
        var graph = DependencyGraph.Build(EfficientNetWidths.FromConfig(EfficientNetConfig.B0(10)));
        Assert.That(graph.Groups, Has.Count.EqualTo(40));
        Assert.That(graph.Groups.GroupBy(g => g.Kind.Label()).ToDictionary(g => g.Key, g => g.Count()),
            Is.EquivalentTo(new Dictionary<string, int> { ["stem"] = 1, ["expand"] = 15, ["squeeze-excitation"] = 16, ["trunk"] = 7, ["head"] = 1 }));
        Snapshot.Match(graph.ToText().Split('\n'));
    }

    private static object Widths(double ratio)
    {
        manual_seed(0);
        using var model = EfficientNet.Create(EfficientNetConfig.B0(10));
        var (pruned, report) = ChannelPruner.Prune(model, new ChannelPruningOptions { Ratio = ratio, RoundTo = 8, Importance = ChannelImportances.L1 });
        using (pruned)
            return new
            {
                Ratio = ratio,
                pruned.Widths.Stem,
                Blocks = pruned.Widths.Blocks.Select(b => $"{b.Prefix}: in {b.In}, expanded {b.Expanded}, squeeze {b.Squeeze}, out {b.Out}").ToList(),
                pruned.Widths.Head,
                Parameters = pruned.parameters().Sum(p => p.numel()),
                Groups = report.Groups.Select(g => $"group {g.Id} [{g.Kind.Label()}] {g.Before} -> {g.After}").ToList(),
            };
    }

    [Test]
    public void PrunedWidthsAtRatio02() => Snapshot.Match(Widths(0.2));

    [Test]
    public void PrunedWidthsAtRatio08() => Snapshot.Match(Widths(0.8));
}
