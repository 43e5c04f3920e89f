using Harness.Experiments;
using Harness.Metrics;
using Harness.Tests.TestSupport;
using System.Text.Json;

namespace Harness.Tests.Unit.Experiments;

/// <summary>Latency targets in a study (<c>channelTargetLatency</c>) and a sweep (<c>--pruning latency</c>): the
/// experiments are named after the target, runtime and batch; the pruned model's latency was measured at or under the
/// target in the log; the settings reach the manifest; iterative schedules and gradient criteria are refused.</summary>
public sealed class StudyLatencyTargetTests : TempDirectoryTest
{
    [Test]
    public void ExperimentsAreNamedAfterTheTargetRuntimeAndBatch()
    {
        var config = new StudyConfig { Arch = "resnet18", ChannelTargetLatency = [0.5, 0.3], LatencyRuntime = "onnx-int8", LatencyBatchSize = 32 };
        config.Validate();
        var names = config.Experiments().Where(e => e.Kind == ExperimentKind.ChannelLatency).Select(e => e.Name);
        Assert.That(names, Is.EqualTo(new[] { "channel_latency_0.5_onnx-int8_b32", "channel_latency_0.3_onnx-int8_b32" }));
    }

    [TestCase("{\"channelTargetLatency\": [1.5]}", "channelTargetLatency must lie in (0, 1]")]
    [TestCase("{\"channelTargetLatency\": [0.5], \"latencyRuntime\": \"tflite\"}", "latencyRuntime must be one of torch, onnx, onnx-int8")]
    [TestCase("{\"channelTargetLatency\": [0.5], \"pruningSteps\": 3}", "channelTargetLatency is one-shot")]
    [TestCase("{\"channelTargetLatency\": [0.5], \"latencyBatchSize\": 0}", "latencyBatchSize must lie in 1..4096")]
    public void BadLatencySettingsAreRefused(string json, string message)
    {
        var config = JsonSerializer.Deserialize<StudyConfig>(json, StudyConfig.JsonOptions)!;
        var ex = Assert.Throws<ArgumentException>(config.Validate);
        Assert.That(ex!.Message, Does.StartWith(message));
    }

    [Test]
    public void ASweepOverLatencyTargetsPrunesToMeasuredLatency()
    {
        string data = SyntheticCifar.WriteBinary(Path.Combine(Dir, "data"), 40, 40);
        string configFile = Path.Combine(Dir, "config.json");
        File.WriteAllText(configFile, JsonSerializer.Serialize(new StudyConfig { LatencyCache = Path.Combine(Dir, "cache"), LatencyThreads = 1 }, StudyConfig.JsonOptions));
        string outDir = Path.Combine(Dir, "sweep");
        var r = HarnessCli.Run("sweep", "--config", configFile, "--data", data, "--weights", "none", "--arch", "resnet18", "--device", "cpu",
            "--image-size", "32", "--batch-size", "16", "--base-epochs", "0", "--channel-epochs", "0", "--train-subset", "32", "--val-subset", "16",
            "--test-subset", "20", "--latency-runs", "2", "--freeze", "none", "--pruning", "latency", "--ratios", "0.4", "--out", outDir);
        Assert.That(r.Code, Is.Zero, r.Err);
        Assert.That(r.Out, Does.Contain("latency target 0.6: measured"));
        string name = "channel_latency_0.6_onnx_b1";
        Assert.That(File.Exists(Path.Combine(outDir, "metrics", name + ".json")), Is.True);
        string csv = File.ReadAllText(Path.Combine(outDir, "sweep.csv"));
        Assert.That(csv, Does.Contain("\nlatency,0.4,"));
        string manifest = File.ReadAllText(Path.Combine(outDir, "runs", name, "manifest.json"));
        Assert.That(manifest, Does.Contain("latency_runtime").And.Contain("onnx"));
        Assert.That(Directory.GetFiles(Path.Combine(Dir, "cache"), "*.json"), Is.Not.Empty, "the latency model is cached where the configuration says");
    }
}
