using Harness.Metrics;
using Harness.Tests.TestSupport;
using Harness.Tests.Unit.Cli;

namespace Harness.Tests.Unit.Experiments;

/// <summary><c>study --int8</c>: every experiment gains its int8 figures (size, ONNX Runtime latency beside the float
/// one, test accuracy) in the metrics JSON, the CSV and the report's table; over a finished study it measures only
/// those (no training), and again when the calibration changes.</summary>
public sealed class StudyInt8Tests : TempDirectoryTest
{
    private string[] Study(string data, string outDir, params string[] extra) => IntegrityCliTests.Overriding(
        ["study", "--data", data, "--weights", "none", "--arch", "resnet18", "--device", "cpu", "--image-size", "32", "--batch-size", "16",
         "--base-epochs", "1", "--channel-epochs", "0", "--train-subset", "32", "--val-subset", "16", "--test-subset", "20", "--latency-runs", "2",
         "--freeze", "none", "--only", "resnet18_base", "--only", "channel_pruning_0.8", "--out", outDir], extra);

    [Test]
    public void Int8FiguresJoinTheTablesAndAreAddedToAFinishedStudyWithoutTraining()
    {
        string data = SyntheticCifar.WriteBinary(Path.Combine(Dir, "data"), 40, 40);
        string outDir = Path.Combine(Dir, "study");
        var plain = HarnessCli.Run(Study(data, outDir));
        Assert.That(plain.Code, Is.Zero, plain.Err);
        string metricsFile = Path.Combine(outDir, "metrics", "resnet18_base.json");
        Assert.That(MetricsFiles.ReadJson(metricsFile)[0].Int8, Is.Null);
        Assert.That(File.ReadAllText(Path.Combine(outDir, "report.md")), Does.Not.Contain("Int8 acc %"), "no int8 columns where nothing was quantized");
        string checkpoint = Path.Combine(outDir, "models", "resnet18_base.pth");
        var trained = File.GetLastWriteTimeUtc(checkpoint);

        var int8 = HarnessCli.Run(Study(data, outDir, "--int8"));
        Assert.That(int8.Code, Is.Zero, int8.Err);
        Assert.That(int8.Out, Does.Contain("finished earlier with the same settings").And.Contain("int8: minmax, 8×16 training images (seed 42)"));
        Assert.That(File.GetLastWriteTimeUtc(checkpoint), Is.EqualTo(trained), "no training");
        foreach (string name in new[] { "resnet18_base", "channel_pruning_0.8" })
        {
            var m = MetricsFiles.ReadJson(Path.Combine(outDir, "metrics", name + ".json"))[0];
            Assert.That(m.Int8, Is.Not.Null, name);
            Assert.That(m.Int8!.SizeBytes, Is.LessThan(m.SizeBytes / 3), $"{name}: int8 weights are a quarter of float32's");
            Assert.That(m.Int8.TestAccuracy, Is.InRange(0.0, 1.0));
            Assert.That(m.Int8.Latency!.Runs, Is.EqualTo(2));
            Assert.That(m.OnnxLatency!.Runs, Is.EqualTo(2), "the float ORT figure is timed beside the int8 one");
            Assert.That(File.ReadAllText(Path.Combine(outDir, "metrics", name + ".csv")), Does.Contain("int8_test_accuracy"));
        }
        string report = File.ReadAllText(Path.Combine(outDir, "report.md"));
        Assert.That(report, Does.Contain("Int8 MB").And.Contain("Int8 acc %").And.Contain("ORT int8 ms"));

        var again = HarnessCli.Run(Study(data, outDir, "--int8"));
        Assert.That(again.Code, Is.Zero, again.Err);
        Assert.That(again.Out, Does.Not.Contain("int8: minmax"), "measured once per calibration");

        var entropy = HarnessCli.Run(Study(data, outDir, "--int8", "--int8-calibration", "entropy"));
        Assert.That(entropy.Code, Is.Zero, entropy.Err);
        Assert.That(MetricsFiles.ReadJson(metricsFile)[0].Int8!.Calibration, Does.StartWith("entropy"));
    }

    [Test]
    public void AnUnknownCalibrationIsOneLine()
    {
        var r = HarnessCli.Run(Study(Path.Combine(Dir, "none"), Path.Combine(Dir, "study"), "--int8", "--int8-calibration", "kl"));
        Assert.That(r.Code, Is.EqualTo(2));
        Assert.That(r.Err.Trim().Split('\n'), Has.Length.EqualTo(1));
        Assert.That(r.Err.Trim(), Is.EqualTo("error: int8Calibration (--int8-calibration) must be one of minmax, percentile, entropy (got 'kl')"));
    }
}
