using Harness.Model;
using Harness.Model.Families;
using Harness.Tests.TestSupport;
using System.Text.Json;

namespace Harness.Tests.Unit.Cli;

/// <summary><c>prune channel --target-latency</c> on ONNX Runtime: the checkpoint, the latency model's CSV and chart, the
/// figures in JSON (measured at or under the target, what it was measured on), the table read from the cache the second
/// time; one-line refusals (exit 2) for an unreachable target, a bad runtime, and a target given with a ratio.</summary>
public class PruneLatencyCommandTests : TempDirectoryTest
{
    private string TinyCheckpoint()
    {
        string path = Path.Combine(Dir, "tiny.pth");
        using var m = EfficientNet.Create(EfficientNetConfig.Scaled(0.25, 0.34, 10));
        ModelLoader.Save(m, path);
        return path;
    }

    [Test]
    public void PrunesToTheTargetWritesTheModelAndReusesTheCache()
    {
        string weights = TinyCheckpoint(), cache = Path.Combine(Dir, "cache"), out1 = Path.Combine(Dir, "a.pth");
        var (code, stdout, stderr) = HarnessCli.Run("prune", "channel", "--weights", weights, "--target-latency", "0.8", "--image-size", "64",
            "--threads", "1", "--latency-cache", cache, "--out", out1, "--json");
        Assert.That(code, Is.EqualTo(0), stderr);
        using var doc = JsonDocument.Parse(stdout);
        var latency = doc.RootElement.GetProperty("latency");
        Assert.Multiple(() =>
        {
            Assert.That(latency.GetProperty("measuredFraction").GetDouble(), Is.LessThanOrEqualTo(latency.GetProperty("targetFraction").GetDouble()));
            Assert.That(latency.GetProperty("targetFraction").GetDouble(), Is.EqualTo(0.8));
            Assert.That(latency.GetProperty("setting").GetString(), Is.EqualTo("onnx, batch 1, 64 px, 1 thread"));
            Assert.That(latency.GetProperty("machine").GetString(), Does.Contain("ONNX Runtime"));
            Assert.That(latency.GetProperty("tableFromCache").GetBoolean(), Is.False);
            Assert.That(File.Exists(out1), Is.True);
            Assert.That(File.ReadAllLines(Path.Combine(Dir, "a_latency_model.csv"))[0], Does.StartWith("group,kind,space,channels,width"));
            Assert.That(new FileInfo(Path.Combine(Dir, "a_latency_model.png")).Length, Is.GreaterThan(1000));
            Assert.That(Directory.GetFiles(cache, "*.json"), Has.Length.EqualTo(1));
        });
        using (var pruned = ModelLoader.LoadNetwork(out1))
            Assert.That(pruned.Module.parameters().Sum(p => p.numel()), Is.EqualTo(doc.RootElement.GetProperty("parametersAfter").GetInt64()));
        var again = HarnessCli.Run("prune", "channel", "--weights", weights, "--target-latency", "0.8", "--image-size", "64",
            "--threads", "1", "--latency-cache", cache, "--out", Path.Combine(Dir, "b.pth"));
        Assert.That(again.Code, Is.EqualTo(0), again.Err);
        Assert.That(again.Out, Does.Contain("latency model from the cache"));
    }

    [TestCase("torch", "torch, batch 2, 32 px, 1 thread")]
    [TestCase("onnx-int8", "onnx-int8, batch 2, 32 px, 1 thread")]
    public void EachRuntimeTimesItsOwnForm(string runtime, string setting)
    {
        var (code, stdout, stderr) = HarnessCli.Run("prune", "channel", "--weights", TinyCheckpoint(), "--target-latency", "0.95", "--runtime", runtime,
            "--batch-size", "2", "--image-size", "32", "--threads", "1", "--latency-cache", Path.Combine(Dir, "cache"), "--out", Path.Combine(Dir, "r.pth"), "--json");
        Assert.That(code, Is.EqualTo(0), stderr);
        using var doc = JsonDocument.Parse(stdout);
        var latency = doc.RootElement.GetProperty("latency");
        Assert.That(latency.GetProperty("setting").GetString(), Is.EqualTo(setting));
        Assert.That(latency.GetProperty("measuredFraction").GetDouble(), Is.LessThanOrEqualTo(0.95));
        Assert.That(File.Exists(Path.Combine(Dir, "r.pth")), Is.True);
    }

    [Test]
    public void AnUnreachableTargetIsOneLine()
    {
        string weights = TinyCheckpoint();
        var (code, _, stderr) = HarnessCli.Run("prune", "channel", "--weights", weights, "--target-latency", "0.0001", "--image-size", "32",
            "--threads", "1", "--latency-cache", Path.Combine(Dir, "cache"), "--out", Path.Combine(Dir, "x.pth"));
        Assert.That(code, Is.EqualTo(2));
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines, Has.Length.EqualTo(1), stderr);
        Assert.That(lines[0], Does.StartWith("error: --target-latency").And.Contain("unreachable: the smallest reachable latency is"));
        Assert.That(File.Exists(Path.Combine(Dir, "x.pth")), Is.False);
    }

    [TestCase("--runtime", "tensorrt", "--runtime 'tensorrt': expected one of torch, onnx, onnx-int8")]
    [TestCase("--ratio", "0.3", "--ratio and --target-latency: give one (the target chooses the widths)")]
    [TestCase("--target-macs", "0.5", "--target-latency and a --target-macs/--target-params budget: give one")]
    public void ConflictingOrBadOptionsAreOneLine(string option, string value, string message)
    {
        string weights = TinyCheckpoint();
        var (code, _, stderr) = HarnessCli.Run("prune", "channel", "--weights", weights, "--target-latency", "0.5", option, value,
            "--latency-cache", Path.Combine(Dir, "cache"), "--out", Path.Combine(Dir, "x.pth"));
        Assert.That(code, Is.EqualTo(2));
        Assert.That(stderr.Trim(), Is.EqualTo("error: " + message));
    }

    [TestCase("0")]
    [TestCase("1.5")]
    [TestCase("-3ms")]
    [TestCase("fast")]
    public void AMalformedTargetIsOneLine(string target)
    {
        var (code, _, stderr) = HarnessCli.Run("prune", "channel", "--weights", TinyCheckpoint(), "--target-latency", target,
            "--latency-cache", Path.Combine(Dir, "cache"), "--out", Path.Combine(Dir, "x.pth"));
        Assert.That(code, Is.EqualTo(2));
        Assert.That(stderr.Trim(), Is.EqualTo($"error: --target-latency '{target}': expected a fraction of the base network's latency in (0, 1] (0.5) or milliseconds (12ms)"));
    }

    [Test]
    public void LatencyOptionsWithoutATargetAreRefused()
    {
        var (code, _, stderr) = HarnessCli.Run("prune", "channel", "--weights", TinyCheckpoint(), "--runtime", "onnx", "--out", Path.Combine(Dir, "x.pth"));
        Assert.That(code, Is.EqualTo(2));
        Assert.That(stderr.Trim(), Is.EqualTo("error: --runtime is read with --target-latency"));
    }
}
