using Harness.Experiments;
using Harness.Metrics;
using Harness.Tests.TestSupport;
using Snapshooter.NUnit;
using static TorchSharp.torch;

namespace Harness.Tests.Regression.Experiments;

/// <summary>
/// The whole study on the real CIFAR-10 sample at 32×32 from random weights, small enough for the CPU suite:
/// every file is produced, the structural columns match the approved snapshot, and the base model beats chance.
/// </summary>
public class MiniStudyTests
{
    public static StudyConfig MiniConfig(string data, string output) => new()
    {
        Data = data,
        Weights = "none",
        Device = "cpu",
        Output = output,
        ImageSize = 32,
        BatchSize = 32,
        BaseEpochs = 2,
        FineGrainedEpochs = 1,
        ChannelEpochs = 1,
        TrainSubset = 2000,
        ValSubset = 300,
        TestSubset = 1000,
        // From random weights torchvision's head init (uniform ±1/√10) starts with large logits; 0.002 trains more
        // steadily in two short epochs than the study's fine-tuning rate of 0.01.
        LearningRate = 0.002,
        FrozenStages = [],
        LatencyRuns = 5,
    };

    [Test]
    public void MiniStudyProducesEveryFileAndAReportWithTheApprovedStructure()
    {
        string data = SharedData.RequireShared("cifar10-sample");
        string output = Directory.CreateTempSubdirectory("harness-ministudy-").FullName;
        try
        {
            var config = MiniConfig(data, output);
            var runner = new StudyRunner(config, CPU, TestContext.Out);
            var results = runner.Run();
            Assert.That(results.Select(r => r.Name), Is.EqualTo(new[]
            {
                "efficientnet_b0_base", "fine_grained_prune_0.2", "fine_grained_prune_0.5", "channel_pruning_0.2", "channel_pruning_0.8",
            }));
            foreach (var e in config.Experiments())
            {
                Assert.That(File.Exists(runner.CheckpointOf(e)), e.Name);
                Assert.That(File.Exists(runner.MetricsPathOf(e)), e.Name);
                Assert.That(File.Exists(Path.Combine(runner.MetricsDir, e.Name + ".csv")), e.Name);
                Assert.That(File.Exists(MetricsPlots.TablePath(runner.PlotsDir, e.Name)), e.Name);
                Assert.That(File.Exists(MetricsPlots.CurvesPath(runner.PlotsDir, e.Name)), e.Name);
            }
            Assert.That(File.Exists(Path.Combine(output, "models", "efficientnet_b0_base.pth")));
            Assert.That(File.Exists(MetricsPlots.ComparisonPath(runner.PlotsDir, "study")));
            string report = File.ReadAllText(runner.ReportPath);
            Assert.That(report, Does.Contain("channel_pruning_0.8").And.Contain("metrics_plots/"));
            var baseModel = results[0];
            Assert.That(baseModel.TestAccuracy, Is.GreaterThan(0.1), "the base model beats chance (10%)");
            Snapshot.Match(results.Select(r => new { r.Name, r.Parameters, r.SizeBytes, r.MacsThop, r.MacsTorchProfile }).ToList());

            // Resumable: a second run finds every experiment finished and redoes nothing.
            var log = new StringWriter();
            new StudyRunner(config, CPU, log).Run();
            Assert.That(log.ToString().Split('\n').Count(l => l.Contains("finished earlier")), Is.EqualTo(5));
        }
        finally
        {
            Directory.Delete(output, true);
        }
    }
}
