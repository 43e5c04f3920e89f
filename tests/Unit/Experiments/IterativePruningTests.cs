using Harness.Experiments;
using Harness.Metrics;
using Harness.Model;
using Harness.Pruning.Channels;
using Harness.Tests.TestSupport;
using System.Globalization;
using static TorchSharp.torch;

namespace Harness.Tests.Unit.Experiments;

/// <summary>Iterative pruning's schedules: Torch-Pruning's linear scheduler for channels (every step's ratio against the
/// original widths, round_to at each step) and Zhu and Gupta's gradual schedule for fine-grained sparsity.</summary>
public class IterativePruningTests : TempDirectoryTest
{
    [Test]
    public void ChannelStepsKeepRoundToOfTheOriginalWidthsAtRatioKOverK()
    {
        using var b0 = ModelLoader.LoadNetwork("none", "efficientnet_b0");
        var original = DependencyGraph.Build(b0).Groups.ToDictionary(g => g.Space, g => g.Channels);
        // By hand for two groups at ratio 0.5 in K = 3 steps (ratios 1/6, 1/3, 1/2; round_to 8):
        //   96 channels (features.2.0's expansion): int(96·5/6) = 80, int(96·2/3) = 64, int(96·1/2) = 48;
        //   32 channels (the stem):                 int(32·5/6) = 26 → 24, int(32·2/3) = 21 → 16, 16.
        string expand = original.First(kv => kv.Value == 96).Key, stem = original.First(kv => kv.Value == 32).Key;
        var expected = new Dictionary<string, int[]> { [expand] = [80, 64, 48], [stem] = [24, 16, 16] };
        IPrunableNetworkHolder current = new(b0, owned: false);
        object? lastReport = null;
        for (int k = 1; k <= 3; k++)
        {
            var (pruned, report) = ChannelPruner.Prune(current.Network, new ChannelPruningOptions { Ratio = 0.5 * k / 3, OriginalWidths = original });
            current.Dispose();
            current = new(pruned, owned: true);
            var widths = report.SpaceWidths;
            lastReport = report;
            foreach (var (space, w) in expected) Assert.That(widths[space], Is.EqualTo(w[k - 1]), $"{space} after step {k}");
        }
        // Every group by the rule: a step keeps KeptWidth(C₀, r_k) when that is narrower than what the group has, and
        // otherwise what it has (a group Torch-Pruning's rule leaves untouched at r_k stays as the last step left it, so
        // the end can be narrower than one-shot pruning, which would leave such a group whole).
        var options = new ChannelPruningOptions();
        var final = ((ChannelPruningReport)lastReport!).SpaceWidths;
        foreach (var (space, c0) in original)
        {
            int w = c0;
            for (int k = 1; k <= 3; k++) w = Math.Min(w, options.KeptWidth(c0, 0.5 * k / 3));
            Assert.That(final[space], Is.EqualTo(w), space);
        }
        current.Dispose();
    }

    private sealed class IPrunableNetworkHolder(Harness.Model.Networks.IPrunableNetwork network, bool owned) : IDisposable
    {
        public Harness.Model.Networks.IPrunableNetwork Network { get; } = network;
        public void Dispose() { if (owned) Network.Dispose(); }
    }

    [Test]
    public void AnIterativeStudyFollowsBothSchedulesStepByStep()
    {
        string data = SyntheticCifar.WriteBinary(Path.Combine(Dir, "data"), 8, 16);
        string basePath = Path.Combine(Dir, "base.pth");
        using (var m = ModelLoader.LoadNetwork("none", "resnet18")) ModelLoader.Save(m, basePath);
        var config = new StudyConfig
        {
            Data = data,
            Arch = "resnet18",
            BaseModel = basePath,
            Device = "cpu",
            Output = Path.Combine(Dir, "study"),
            ImageSize = 32,
            BatchSize = 8,
            FineGrainedAmounts = [0.5],
            ChannelRatios = [0.5],
            PruningSteps = 3,
            EpochsPerStep = 1,
            LatencyRuns = 1,
            FrozenStages = [],
        };
        var runner = new StudyRunner(config, CPU, TextWriter.Null);
        var results = runner.Run();
        Assert.That(results.Select(r => r.Name), Is.EqualTo(new[] { "resnet18_base", "fine_grained_prune_0.5_iter3", "channel_pruning_0.5_iter3" }));

        var fg = File.ReadAllLines(Path.Combine(runner.MetricsDir, "fine_grained_prune_0.5_iter3_steps.csv"));
        Assert.That(fg[0], Is.EqualTo("step,sparsity,parameters,nonzero_parameters,macs_thop,val_accuracy_after_pruning,best_val_accuracy_after_fine_tuning"));
        // Zhu & Gupta: s_k = 0.5·(1 − (1 − k/3)³) = 0.5·19/27, 0.5·26/27, 0.5.
        var sparsities = fg.Skip(1).Select(l => double.Parse(l.Split(',')[1], CultureInfo.InvariantCulture)).ToArray();
        Assert.That(sparsities, Is.EqualTo(new[] { 0.5 * 19 / 27, 0.5 * 26 / 27, 0.5 }).Within(1e-12));
        long prunable = 0;
        using (var b = ModelLoader.LoadNetwork(basePath))
            prunable = b.PrunableLayers().Sum(l => l.Layer.Weight.numel());
        long total = long.Parse(fg[1].Split(',')[2], CultureInfo.InvariantCulture);
        for (int k = 0; k < 3; k++)
        {
            long nonzero = long.Parse(fg[k + 1].Split(',')[3], CultureInfo.InvariantCulture);
            Assert.That((double)(total - nonzero) / prunable, Is.EqualTo(sparsities[k]).Within(2.0 / prunable), $"step {k + 1}: that share of the conv/linear weights is zero");
        }

        var ch = File.ReadAllLines(Path.Combine(runner.MetricsDir, "channel_pruning_0.5_iter3_steps.csv"));
        var ratios = ch.Skip(1).Select(l => double.Parse(l.Split(',')[1], CultureInfo.InvariantCulture)).ToArray();
        Assert.That(ratios, Is.EqualTo(new[] { 0.5 / 3, 1.0 / 3, 0.5 }).Within(1e-12));
        var parameters = ch.Skip(1).Select(l => long.Parse(l.Split(',')[2], CultureInfo.InvariantCulture)).ToArray();
        Assert.That(parameters, Is.Ordered.Descending);
        Assert.That(parameters[2], Is.EqualTo(results[2].Parameters));
        using (var b = ModelLoader.LoadNetwork(basePath))
        using (var oneShot = ChannelPruner.Prune(b, new ChannelPruningOptions { Ratio = 0.5 }).Model)
            Assert.That(results[2].Parameters, Is.EqualTo(oneShot.Module.parameters().Sum(p => p.numel())), "ResNet-18's widths never hit the untouched rule here: the end is one-shot pruning's widths");
        string runs = Path.Combine(config.Output, "runs", "channel_pruning_0.5_iter3");
        for (int k = 1; k <= 3; k++)
            Assert.That(Harness.Training.TrainingHistory.Load(Path.Combine(runs, $"step-{k}", "history.json")), Has.Count.EqualTo(1), $"one epoch after step {k}");
        Assert.That(File.Exists(MetricsPlots.CurvesPath(runner.PlotsDir, "channel_pruning_0.5_iter3")));

        var log = new StringWriter();
        new StudyRunner(config, CPU, log).Run();
        Assert.That(log.ToString().Split('\n').Count(l => l.Contains("finished earlier")), Is.EqualTo(3), "resumable: nothing is redone");
    }

    [Test]
    public void ASlimmingPresetPrunesByBatchNormScaleAndTheBaseIsTrainedWithTheL1Term()
    {
        string data = SyntheticCifar.WriteBinary(Path.Combine(Dir, "data"), 8, 16);
        var config = new StudyConfig
        {
            Data = data,
            Arch = "resnet18",
            Device = "cpu",
            Output = Path.Combine(Dir, "slim"),
            ImageSize = 32,
            BatchSize = 8,
            BaseEpochs = 1,
            FineGrainedAmounts = [],
            ChannelRatios = [],
            SlimmingRatios = [0.5],
            ChannelEpochs = 0,
            BnL1 = 1e-3,
            LatencyRuns = 1,
            FrozenStages = [],
        };
        Assert.That(config.Experiments().Select(e => e.Name), Is.EqualTo(new[] { "resnet18_base", "slimming_0.5" }));
        var runner = new StudyRunner(config, CPU, TextWriter.Null);
        var results = runner.Run();
        Assert.That(File.ReadAllText(runner.ManifestPathOf(config.Experiments()[0])), Does.Contain("\"bn_l1\": \"0.001\""), "the base model was trained with λ");
        using var baseModel = ModelLoader.LoadNetwork(runner.BaseModelPath);
        using var expected = ChannelPruner.Prune(baseModel, new ChannelPruningOptions { Ratio = 0.5, Importance = ChannelImportances.BatchNormScale }).Model;
        using var slimmed = ModelLoader.LoadNetwork(runner.CheckpointOf(config.Experiments()[1]));
        var e = expected.Module.state_dict();
        foreach (var (k, v) in slimmed.Module.state_dict()) TensorAssert.AreIdentical(e[k], v, k);
        Assert.That(results[1].Parameters, Is.EqualTo(expected.Module.parameters().Sum(p => p.numel())));
    }

    [Test]
    public void AStudyFileReachesBudgetsTaylorImportanceAndDistillationAndPrintConfigShowsThem()
    {
        string data = SyntheticCifar.WriteBinary(Path.Combine(Dir, "data"), 8, 16);
        string basePath = Path.Combine(Dir, "base.pth");
        using (var m = ModelLoader.LoadNetwork("none", "resnet18")) ModelLoader.Save(m, basePath);
        string file = Path.Combine(Dir, "study.json");
        File.WriteAllText(file, $$"""
            { "data": "{{data}}", "arch": "resnet18", "baseModel": "{{basePath}}", "device": "cpu", "output": "{{Path.Combine(Dir, "out")}}",
              "imageSize": 32, "batchSize": 8, "fineGrainedAmounts": [], "channelRatios": [], "channelTargetMacs": [0.5],
              "channelImportance": "Taylor", "calibrationBatches": 2, "teacher": "base", "kdTemperature": 3, "channelEpochs": 1,
              "latencyRuns": 1, "frozenStages": [] }
            """);
        var (code, printed, error) = HarnessCli.Run(Harness.Cli.Commands.StudyCommand.Create(), "study", "--config", file, "--print-config");
        Assert.That(code, Is.EqualTo(0), error);
        Assert.That(printed, Does.Contain("\"channelTargetMacs\": [").And.Contain("\"channelImportance\": \"Taylor\"").And.Contain("\"teacher\": \"base\"")
            .And.Contain("\"pruningSteps\": 1").And.Contain("\"bnL1\": 0").And.Contain("\"slimmingRatios\": []"));
        var config = StudyConfig.Load(file);
        Assert.That(config.Experiments().Select(e => e.Name), Is.EqualTo(new[] { "resnet18_base", "channel_macs_0.5_taylor" }));
        var runner = new StudyRunner(config, CPU, TextWriter.Null);
        var results = runner.Run();
        Assert.That(results[1].MacsThop, Is.LessThanOrEqualTo(results[0].MacsThop / 2), "the budget is met");
        string manifest = File.ReadAllText(runner.ManifestPathOf(config.Experiments()[1]));
        Assert.That(manifest, Does.Contain("\"importance\": \"Taylor\"").And.Contain("\"calibration_batches\": \"2\"").And.Contain("\"kd_temperature\": \"3\""));
    }
}
