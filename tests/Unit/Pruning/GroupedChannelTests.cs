using Harness.Model.Channels;
using Harness.Model.Families;
using Harness.Model.Import;
using Harness.Model.Networks;
using Harness.Pruning.Channels;
using Harness.Tests.TestSupport;
using static TorchSharp.torch;

namespace Harness.Tests.Unit.Pruning;

/// <summary>
/// Channels a grouped conv (1 &lt; groups &lt; channels) takes part in are equal groups: Torch-Pruning 1.6.1's rule
/// counts per group (gs − ⌊gs₀·(1 − r)⌋), rounds the whole width to round_to (so each group loses a multiple-ish of
/// it), leaves a group that would lose every channel untouched, and removes the same positions from every group.
/// </summary>
public class GroupedChannelTests
{
    /// <summary>A space of <paramref name="channels"/> written by a plain conv and read by a conv of
    /// <paramref name="groups"/> groups.</summary>
    private static DependencyGraph Grouped(int channels, int groups)
    {
        var d = new ChannelDeclaration();
        d.Space("a", SpaceKind.Inner, channels);
        d.Member("a", "conv", ChannelRole.Out);
        d.Member("a", "bn", ChannelRole.BatchNorm);
        d.Member("a", "grouped", ChannelRole.In, groups: groups);
        return DependencyGraph.Build(d);
    }

    [TestCase(160, 10, 0.3, 8, 80)]   // gs 16: n = 16 − ⌊11.2⌋ = 5; keep 155 → 152, so 8 per group go: 160 − 80
    [TestCase(160, 10, 0.6, 8, 160)]  // n = 16 − ⌊6.4⌋ = 10; keep 150 → 144, 16 per group: every channel, left untouched
    [TestCase(64, 4, 0.5, 8, 32)]     // gs 16: n = 8; keep 56, 8 per group: 64 − 32
    [TestCase(48, 2, 0.2, 8, 32)]     // gs 24: n = 24 − ⌊19.2⌋ = 5; keep 43 → 40, 8 per group: 48 − 16
    [TestCase(48, 2, 0.2, 1, 38)]     // round_to 1: 5 per group
    [TestCase(32, 2, 0.0, 8, 32)]
    public void KeptWidthFollowsTorchPruningsGroupedRule(int channels, int groups, double ratio, int roundTo, int kept)
    {
        var graph = Grouped(channels, groups);
        Assert.That(graph.Groups[0].ChannelGroups, Is.EqualTo(groups));
        var widths = ChannelPruner.PlannedWidths(graph, new ChannelPruningOptions { Ratio = ratio, RoundTo = roundTo });
        Assert.That(widths["a"], Is.EqualTo(kept));
        Assert.That(widths["a"] % groups, Is.Zero, "every group keeps the same number");
    }

    [Test]
    public void ChannelsThatDoNotDivideIntoTheGroupsAreRefused()
    {
        var d = new ChannelDeclaration();
        d.Space("a", SpaceKind.Inner, 10);
        d.Member("a", "grouped", ChannelRole.In, groups: 4);
        Assert.That(() => DependencyGraph.Build(d), Throws.ArgumentException.With.Message.Contains("do not divide"));
        Assert.That(() => d.Member("a", "bn", ChannelRole.BatchNorm, groups: 2), Throws.ArgumentException);
    }

    /// <summary>An imported graph with a conv of 2 groups: its input and output spaces are grouped members, pruning
    /// removes the same positions from both groups of each, and removals that differ between groups are refused.</summary>
    [Test]
    public void AnImportedGroupedConvPrunesTheSamePositionsInEveryGroup()
    {
        string path = Path.Combine(Path.GetTempPath(), $"grouped-{Guid.NewGuid():N}.onnx");
        File.WriteAllBytes(path, Google.Protobuf.MessageExtensions.ToByteArray(OnnxModels.Small("grouped", seed: 4)));
        try
        {
            using var model = OnnxImporter.Import(new OnnxImportOptions(path));
            Assert.That(model.Widths.Channels.Untouched, Is.Empty);
            var graph = DependencyGraph.Build(model);
            var input = graph.Groups.Single(g => g.Members.Any(m => m.Layer == "grouped" && m.Role == ChannelRole.In));
            var output = graph.Groups.Single(g => g.Members.Any(m => m.Layer == "grouped" && m.Role == ChannelRole.Out));
            Assert.That((input.Channels, input.ChannelGroups, output.Channels, output.ChannelGroups), Is.EqualTo((4, 2, 8, 2)));
            Assert.That(output.Describe(), Does.Contain("in 2 groups of 4").And.Contain("grouped out in 2 groups"));

            Assert.That(() => ChannelPruner.PruneChannels<IPrunableNetwork>(model, graph, new Dictionary<int, int[]> { [output.Id] = [0, 5] }),
                Throws.ArgumentException.With.Message.Contains("the same positions"));
            var (pruned, report) = ChannelPruner.PruneChannels<IPrunableNetwork>(model, graph,
                new Dictionary<int, int[]> { [input.Id] = [1, 3], [output.Id] = [0, 2, 4, 6] });
            using (pruned)
            {
                var weight = pruned.Module.state_dict()["grouped.weight"];
                Assert.That(weight.shape, Is.EqualTo(new long[] { 4, 1, 3, 3 }), "2 groups of 2 outputs, each reading 1 of its group's inputs");
                using var original = model.Module.state_dict()["grouped.weight"];
                // Output rows 1, 3 (group 0) and 5, 7 (group 1) stay; in each group input column 0 stays (channels 0 and 2).
                using var expected = original.index_select(0, tensor(new long[] { 1, 3, 5, 7 })).index_select(1, tensor(new long[] { 0 }));
                Assert.That(weight.equal(expected).all().item<bool>(), Is.True);
                using var x = randn(1, 3, 16, 16);
                pruned.Module.eval();
                using var _ = no_grad();
                Assert.That(pruned.Module.call(x).shape, Is.EqualTo(new long[] { 1, 10 }));
                Assert.That(report.Groups[output.Id].After, Is.EqualTo(4));
            }
        }
        finally { File.Delete(path); }
    }
}
