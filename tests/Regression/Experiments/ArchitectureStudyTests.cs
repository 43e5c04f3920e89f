using Harness.Experiments;
using Harness.Tests.TestSupport;
using Snapshooter.NUnit;
using static TorchSharp.torch;

namespace Harness.Tests.Regression.Experiments;

/// <summary>The study with <c>arch = resnet18</c> on the real CIFAR-10 sample at 32×32 from random weights: the same
/// runner, files and report as EfficientNet's, with torchvision's ResNet-18; the structural columns (parameters,
/// size, MACs under both conventions) match the approved snapshot, the channel-pruned parameter counts are those
/// Torch-Pruning's arithmetic gives (6,979,050 at 0.2 with round_to 8), and the base model beats chance.</summary>
public class ArchitectureStudyTests
{
    [Test]
    public void ResNet18StudyRunsEndToEndWithTheApprovedStructure()
    {
        string data = SharedData.RequireShared("cifar10-sample");
        string output = Directory.CreateTempSubdirectory("harness-resnet-study-").FullName;
        try
        {
            var config = MiniStudyTests.MiniConfig(data, output) with
            {
                Arch = "resnet18",
                BaseEpochs = 2,
                TrainSubset = 640,
                ValSubset = 160,
                TestSubset = 320,
                LearningRate = 0.01,
            };
            config.Validate();
            var runner = new StudyRunner(config, CPU, TestContext.Out);
            var results = runner.Run();
            Assert.That(results.Select(r => r.Name), Is.EqualTo(new[]
            {
                "resnet18_base", "fine_grained_prune_0.2", "fine_grained_prune_0.5", "channel_pruning_0.2", "channel_pruning_0.8",
            }));
            Assert.That(File.Exists(Path.Combine(output, "models", "resnet18_base.pth")));
            Assert.That(File.ReadAllText(runner.ReportPath), Does.Contain("Network resnet18").And.Contain("channel_pruning_0.8"));
            Assert.That(results[0].Parameters, Is.EqualTo(11_181_642L), "torchvision's resnet18 with 10 classes");
            Assert.That(results[3].Parameters, Is.EqualTo(6_979_050L), "Torch-Pruning 1.6.1, ratio 0.2, round_to 8");
            Assert.That(results[0].TestAccuracy, Is.GreaterThan(0.1), "the base model beats chance (10%)");
            Snapshot.Match(results.Select(r => new { r.Name, r.Parameters, r.SizeBytes, r.MacsThop, r.MacsTorchProfile }).ToList());
        }
        finally
        {
            Directory.Delete(output, true);
        }
    }
}
