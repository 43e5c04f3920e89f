using Harness.Experiments;
using Harness.Metrics;
using Harness.Storage.Checkpoints;
using Harness.Tests.TestSupport;
using static TorchSharp.torch;

namespace Harness.Tests.Gpu;

/// <summary>
/// The study at full settings on CUDA (full CIFAR-10 at 224, ImageNet weights), with the study's results as floors.
/// Skipped with the reason when CUDA, the data or the weights are absent. Data: $HARNESS_CIFAR10 (a folder with
/// cifar-10-batches-bin/ or -py/) or ./data; weights: the torch hub cache (or downloaded). Outputs go to
/// $HARNESS_STUDY_OUT (default ./gpu-study), so a later run reuses finished experiments.
/// </summary>
[Category("Gpu")]
[NonParallelizable]
public class FullStudyTests
{
    private static StudyRunner Runner()
    {
        TestSupport.Gpu.RequireCuda();
        string data = Environment.GetEnvironmentVariable("HARNESS_CIFAR10") ?? Path.Combine(SharedData.RepoRoot, "data");
        if (!Directory.Exists(data) || !Directory.EnumerateFileSystemEntries(data).Any())
            Assert.Ignore($"Skipped: CIFAR-10 not found in '{data}' (set HARNESS_CIFAR10 to a folder with cifar-10-batches-bin/, cifar-10-batches-py/ or train/ and test/ image folders).");
        try { new WeightsResolver().Resolve("imagenet"); }
        catch (Exception ex) when (ex is IOException or InvalidDataException or HttpRequestException)
        {
            Assert.Ignore($"Skipped: ImageNet weights unavailable ({ex.Message}).");
        }
        string output = Environment.GetEnvironmentVariable("HARNESS_STUDY_OUT") ?? Path.Combine(SharedData.RepoRoot, "gpu-study");
        return new StudyRunner(new StudyConfig { Data = data, Weights = "imagenet", Device = "cuda", Output = output }, CUDA, TestContext.Out);
    }

    private static ModelMetrics RunExperiment(string name)
    {
        var runner = Runner();
        var results = runner.Run(name == "efficientnet_b0_base" ? [name] : ["efficientnet_b0_base", name]);
        return results.Single(r => r.Name == name);
    }

    [Test, Order(1)]
    public void BaseReachesTheStudysAccuracy()
    {
        var m = RunExperiment("efficientnet_b0_base");
        Assert.That(m.TestAccuracy, Is.GreaterThanOrEqualTo(0.955));
        Assert.That(m.Parameters, Is.EqualTo(4_020_358));
    }

    [TestCase("fine_grained_prune_0.2", 0.2), Order(2)]
    [TestCase("fine_grained_prune_0.5", 0.5)]
    public void FineGrainedKeepsTheStudysAccuracy(string name, double amount)
    {
        var m = RunExperiment(name);
        Assert.That(m.TestAccuracy, Is.GreaterThanOrEqualTo(0.95));
        Assert.That(m.Parameters, Is.EqualTo(4_020_358), "fine-grained pruning keeps every tensor's shape");
        Assert.That(m.Sparsity, Is.GreaterThanOrEqualTo(amount * 0.98), "made permanent: the pruned weights are zero");
        Assert.That(m.MacsThop, Is.EqualTo(413_877_824), "dense FLOPs do not fall with unstructured pruning");
    }

    [TestCase("channel_pruning_0.2", 0.90, 2_522_730L), Order(3)]
    [TestCase("channel_pruning_0.8", 0.79, 202_326L)]
    public void ChannelPruningKeepsTheStudysAccuracy(string name, double floor, long parameters)
    {
        var m = RunExperiment(name);
        Assert.That(m.TestAccuracy, Is.GreaterThanOrEqualTo(floor));
        Assert.That(m.Parameters, Is.EqualTo(parameters), "widths as Torch-Pruning's arithmetic gives them");
        Assert.That(m.MacsThop, Is.LessThan(413_877_824));
    }
}
