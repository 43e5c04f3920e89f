using Harness.Tests.TestSupport;
using Harness.Tests.Unit.Cli;

namespace Harness.Tests.Unit.Experiments;

/// <summary>Every study experiment and sweep point records its manifest; a finished one is reused only when the
/// manifest matches, a rerun with other settings refuses naming the differences, and --force recomputes.</summary>
public sealed class StudyManifestTests : TempDirectoryTest
{
    private static (int Code, string Out, string Err) Harness(params string[] args) => HarnessCli.Run(args);

    private string[] Study(string data, string outDir, params string[] extra) => IntegrityCliTests.Overriding(
        ["study", "--data", data, "--weights", "none", "--device", "cpu", "--image-size", "32", "--batch-size", "16",
         "--base-epochs", "1", "--train-subset", "32", "--val-subset", "16", "--test-subset", "20", "--latency-runs", "1",
         "--freeze", "none", "--only", "efficientnet_b0_base", "--out", outDir], extra);

    [Test]
    public void AFinishedExperimentIsReusedOnlyWithTheSameSettings()
    {
        string data = SyntheticCifar.WriteBinary(Path.Combine(Dir, "data"), 40, 40);
        string outDir = Path.Combine(Dir, "study");
        var first = Harness(Study(data, outDir));
        Assert.That(first.Code, Is.Zero, first.Err);
        string manifest = Path.Combine(outDir, "runs", "efficientnet_b0_base", "manifest.json");
        Assert.That(File.ReadAllText(manifest), Does.Contain("\"test_subset\": \"20\"").And.Contain("harness_commit").And.Contain("libtorch"));

        var again = Harness(Study(data, outDir));
        Assert.That(again.Code, Is.Zero, again.Err);
        Assert.That(again.Out, Does.Contain("finished earlier with the same settings"));

        var other = Harness(Study(data, outDir, "--test-subset", "30"));
        Assert.That(other.Code, Is.EqualTo(2));
        Assert.That(other.Err.Trim(), Does.StartWith("error: experiment efficientnet_b0_base").And.Contain("test_subset: 20 → 30").And.Contain("--force"));
        string metrics = Path.Combine(outDir, "metrics", "efficientnet_b0_base.json");
        string before = File.ReadAllText(metrics);

        var forced = Harness(Study(data, outDir, "--test-subset", "30", "--force"));
        Assert.That(forced.Code, Is.Zero, forced.Err);
        Assert.That(forced.Out, Does.Contain("--force: recomputing experiment efficientnet_b0_base"));
        Assert.That(File.ReadAllText(manifest), Does.Contain("\"test_subset\": \"30\""));
        Assert.That(File.ReadAllText(metrics), Is.Not.EqualTo(before));
    }

    [Test]
    public void AnExperimentWithResultsButNoManifestIsNotReused()
    {
        string data = SyntheticCifar.WriteBinary(Path.Combine(Dir, "data"), 40, 40);
        string outDir = Path.Combine(Dir, "study");
        Assert.That(Harness(Study(data, outDir)).Code, Is.Zero);
        File.Delete(Path.Combine(outDir, "runs", "efficientnet_b0_base", "manifest.json"));
        var r = Harness(Study(data, outDir));
        Assert.That(r.Code, Is.EqualTo(2));
        Assert.That(r.Err, Does.Contain("no manifest"));
    }
}
