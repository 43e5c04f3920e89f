using Harness.Cli.Commands;
using Harness.Data;
using Harness.Experiments;
using Harness.Model;
using Harness.Model.Layers;
using Harness.Pruning.Channels;
using Harness.Tests.TestSupport;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Harness.Tests.Unit.Experiments;

/// <summary>Sensitivity analysis: a group whose channels contribute nothing costs nothing to prune; any other group's
/// pruning changes the loss; the command writes the CSV, the ranking and the heatmap.</summary>
public class SensitivityTests : TempDirectoryTest
{
    [Test]
    public void AGroupWhoseChannelsWereZeroedBeforehandHasZeroSensitivity()
    {
        string data = SyntheticCifar.WriteBinary(Path.Combine(Dir, "data"), 4, 30);
        var located = DatasetLocator.Open(data);
        using var model = ModelLoader.LoadNetwork("none", "resnet18");
        var graph = DependencyGraph.Build(model);
        var group = graph.Groups.Single(g => g.Members.Any(m => m.Layer == "layer1.0.conv1" && m.Role == Harness.Model.Channels.ChannelRole.Out));
        Assert.That(group.Channels, Is.EqualTo(64));
        // Ratio 0.25 removes 64 − 48 = 16 channels: zero channels 0..15 of conv1 and of its BatchNorm, so they output
        // ReLU(0) = 0 and have the group's lowest L1 scores.
        var modules = model.Module.named_modules().ToDictionary(m => m.name, m => m.module);
        using (no_grad())
        {
            ((PrunableConv2d)modules["layer1.0.conv1"]).Weight.narrow(0, 0, 16).zero_();
            var bn = (BatchNorm2d)modules["layer1.0.bn1"];
            bn.weight!.narrow(0, 0, 16).zero_();
            bn.bias!.narrow(0, 0, 16).zero_();
        }
        var loader = new BatchLoader(located.Test, 10, false, new BatchTransform { ImageSize = 32 }, CPU);
        var (baseAccuracy, baseLoss, rows) = SensitivityScan.Run(model, [0.25], loader, 32, 8, fineGrained: false, TextWriter.Null);
        var zeroed = rows.Single(r => r.Unit == $"{group.Id}");
        Assert.That(zeroed.Removed, Is.EqualTo(16));
        Assert.That(zeroed.Drop, Is.EqualTo(0), "removing channels that output zeros changes no prediction");
        Assert.That(zeroed.Loss, Is.EqualTo(baseLoss).Within(1e-5));
        Assert.That(zeroed.MacsShare, Is.GreaterThan(0));
        var live = graph.Groups.Single(g => g.Members.Any(m => m.Layer == "layer2.0.conv1" && m.Role == Harness.Model.Channels.ChannelRole.Out));
        var other = rows.Single(r => r.Unit == $"{live.Id}");
        Assert.That(Math.Abs(other.Loss - baseLoss), Is.GreaterThan(1e-6), "pruning live channels changes the loss");
    }

    [Test]
    public void TheCommandWritesTheCsvRankingAndHeatmap()
    {
        string data = SyntheticCifar.WriteBinary(Path.Combine(Dir, "data"), 4, 20);
        string weights = Path.Combine(Dir, "m.pth");
        using (var m = ModelLoader.LoadNetwork("none", "mobilenet_v2")) ModelLoader.Save(m, weights);
        string outDir = Path.Combine(Dir, "s");
        var (code, output, error) = HarnessCli.Run(SensitivityCommand.Create(), "sensitivity", "--weights", weights, "--data", data, "--image-size", "32",
            "--ratios", "0.3,0.6", "--split", "test", "--test-subset", "20", "--out", outDir);
        Assert.That(code, Is.EqualTo(0), error);
        var csv = File.ReadAllLines(Path.Combine(outDir, "sensitivity.csv"));
        Assert.That(csv[0], Is.EqualTo("group,members,ratio,removed,macs_share,accuracy,loss,drop"));
        using var m2 = ModelLoader.LoadNetwork(weights);
        Assert.That(csv, Has.Length.EqualTo(1 + 2 * DependencyGraph.Build(m2).Groups.Count), "one row per group × ratio");
        Assert.That(File.ReadAllLines(Path.Combine(outDir, "sensitivity_ranking.csv"))[0], Is.EqualTo("rank,group,mean_drop"));
        using var png = SkiaSharp.SKBitmap.Decode(Path.Combine(outDir, "sensitivity_heatmap.png"));
        Assert.That(png, Is.Not.Null);
        Assert.That(output, Does.Contain("most sensitive first"));
    }

    /// <summary>By default the scan scores groups on the validation split — the training data's held-out 10%, drawn
    /// as train draws it — so that a network it chooses can be evaluated on a test split it never saw; --split test
    /// scores on the test split. 5 × 10 training images hold 5 for validation; the test split holds 7.</summary>
    [TestCase(null, "val", 5)]
    [TestCase("val", "val", 5)]
    [TestCase("test", "test", 7)]
    public void TheScanScoresOnTheValidationSplitUnlessAskedForTheTestSplit(string? split, string expected, int images)
    {
        string data = SyntheticCifar.WriteBinary(Path.Combine(Dir, "data"), 10, 7);
        string weights = Path.Combine(Dir, "m.pth");
        using (var m = ModelLoader.LoadNetwork("none", "resnet18")) ModelLoader.Save(m, weights);
        string[] args = ["sensitivity", "--weights", weights, "--data", data, "--image-size", "32", "--ratios", "0.5", "--json", "--out", Path.Combine(Dir, "s")];
        var (code, output, error) = HarnessCli.Run(SensitivityCommand.Create(), split is null ? args : [.. args, "--split", split]);
        Assert.That(code, Is.EqualTo(0), error);
        var doc = System.Text.Json.JsonDocument.Parse(output).RootElement;
        Assert.That(doc.GetProperty("split").GetString(), Is.EqualTo(expected));
        Assert.That(doc.GetProperty("images").GetInt32(), Is.EqualTo(images));
    }

    [Test]
    public void ToRatiosMeetsTheMacsBudgetAndPruneChannelReadsTheFile()
    {
        string data = SyntheticCifar.WriteBinary(Path.Combine(Dir, "data"), 4, 20);
        string weights = Path.Combine(Dir, "r.pth");
        using (var m = ModelLoader.LoadNetwork("none", "resnet18")) ModelLoader.Save(m, weights);
        string file = Path.Combine(Dir, "ratios.json");
        var (code, _, error) = HarnessCli.Run(SensitivityCommand.Create(), "sensitivity", "--weights", weights, "--data", data, "--image-size", "32",
            "--ratios", "0.25,0.5,0.75", "--split", "test", "--subset", "20", "--out", Path.Combine(Dir, "s"), "--to-ratios", file, "--target-macs", "0.6");
        Assert.That(code, Is.EqualTo(0), error);
        var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(file)).RootElement;
        long target = doc.GetProperty("targetMacs").GetInt64(), achieved = doc.GetProperty("achievedMacs").GetInt64();
        Assert.That(achieved, Is.LessThanOrEqualTo(target));
        Assert.That(target, Is.EqualTo((long)Math.Floor(0.6 * doc.GetProperty("modelMacs").GetInt64())));
        Assert.That(doc.GetProperty("groupRatios").EnumerateObject().Select(p => p.Value.GetDouble()), Has.All.AnyOf(0.25, 0.5, 0.75));

        string pruned = Path.Combine(Dir, "p.pth");
        (code, _, error) = HarnessCli.Run(PruneCommand.Create(), "prune", "channel", "--weights", weights, "--group-ratios", file, "--ratio", "0", "--out", pruned);
        Assert.That(code, Is.EqualTo(0), error);
        using var p2 = ModelLoader.LoadNetwork(pruned);
        Assert.That(Harness.Metrics.MacCounter.Count(p2.Module, 32).Total(Harness.Metrics.MacConvention.Thop), Is.EqualTo(achieved), "the file's ratios prune to the reported MACs");
    }
}
