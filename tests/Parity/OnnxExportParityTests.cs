using Harness.Cli.Commands;
using Harness.Tests.TestSupport;
using System.Text.Json;

namespace Harness.Tests.Parity;

/// <summary>Every kind of checkpoint (dense, masked, permanent, channel-pruned; B0, the tiny variant, ResNet-18 and
/// MobileNetV2; BatchNorm folded and not), exported by <c>export onnx</c>, passes onnx's own checker with <c>full_check=True</c> (Debian's
/// python3-onnx 1.12) and declares IR version 8, opset 17, <c>input</c> [batch, 3, height, width] and
/// <c>logits</c> [batch, 10]; so does every int8 QDQ export (<c>--int8</c>, calibrated on a synthetic CIFAR-10).</summary>
[TestFixture, Category("Parity")]
public sealed class OnnxExportParityTests : ParityFixture
{
    private sealed record Case(string name, string file);

    public static IEnumerable<TestCaseData> Cases() =>
        from v in Networks
        from k in Enum.GetValues<ExportKind>()
        from fold in new[] { "folded", "unfolded", "int8" }
        select new TestCaseData($"{v}_{k}_{fold}").SetName($"{{m}}({v},{k},{fold})");

    /// <summary>EfficientNet's parity variants and one network of each other family's graph writer.</summary>
    private static readonly string[] Networks = [.. Variants, .. Registry.OnePerFamilyBeyondEfficientNet];

    private static Harness.Model.Networks.INetworkWidths Widths(string network) =>
        Variants.Contains(network)
            ? Harness.Model.Families.EfficientNetWidths.FromConfig(Config(network))
            : Harness.Model.Networks.Architectures.Create(network, 10);

    private Dictionary<string, JsonElement> _results = [];

    [OneTimeSetUp]
    public void ExportEveryKindAndCheckThemInOnnx()
    {
        if (PythonTorch.Versions.TryGetValue("onnx", out var onnx) && onnx == "absent")
            Assert.Ignore($"Skipped: {PythonTorch.Interpreter} lacks onnx. Install it with: {PythonTorch.InstallHint}");
        var cases = new List<Case>();
        string data = In("cifar");
        SyntheticCifar.WriteBinary(data, imagesPerTrainBatch: 20, testImages: 10);
        foreach (var variant in Networks)
            foreach (var kind in Enum.GetValues<ExportKind>())
            {
                string weights = In($"{variant}_{kind}.pth");
                ExportModels.Checkpoint(kind, Widths(variant), weights, seed: 3).Dispose();
                foreach (var fold in new[] { "folded", "unfolded", "int8" })
                {
                    string name = $"{variant}_{kind}_{fold}";
                    string[] args = ["export", "onnx", "--weights", weights, "--out", In($"{name}.onnx")];
                    if (fold == "unfolded") args = [.. args, "--no-fold-bn"];
                    if (fold == "int8") args = [.. args, "--int8", "--data", data, "--image-size", "32", "--calibration-batches", "2", "--batch-size", "8"];
                    var root = new System.CommandLine.RootCommand { ExportCommand.Create() };
                    var error = new StringWriter();
                    int code = Harness.Cli.CliRunner.Run(root, args, new StringWriter(), error);
                    Assert.That(code, Is.Zero, error.ToString());
                    cases.Add(new Case(name, $"{name}.onnx"));
                }
            }
        File.WriteAllText(In("cases.json"), JsonSerializer.Serialize(cases));
        PythonTorch.Run("check_onnx_models.py", Exchange);
        _results = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(File.ReadAllText(In("results.json")))!;
        Report($"onnx {_results["onnx_version"]}");
    }

    [TestCaseSource(nameof(Cases))]
    public void ExportPassesOnnxFullCheckWithOpset17AndDynamicBatch(string name)
    {
        var r = _results[name];
        Assert.That(r.GetProperty("ok").GetBoolean(), Is.True, r.GetProperty("error").GetString());
        Assert.That(r.GetProperty("ir_version").GetInt32(), Is.EqualTo(8));
        Assert.That(r.GetProperty("opsets").GetProperty("ai.onnx").GetInt32(), Is.EqualTo(17));
        Assert.That(Dims(r.GetProperty("inputs").GetProperty("input")), Is.EqualTo("batch,3,height,width"));
        Assert.That(Dims(r.GetProperty("outputs").GetProperty("logits")), Is.EqualTo("batch,10"));
        var ops = r.GetProperty("ops").EnumerateArray().Select(o => o.GetString()).ToList();
        Assert.That(ops.Contains("BatchNormalization"), Is.EqualTo(name.EndsWith("_unfolded", StringComparison.Ordinal)));
        bool int8 = name.EndsWith("_int8", StringComparison.Ordinal);
        Assert.That(ops.Contains("QuantizeLinear") && ops.Contains("DequantizeLinear"), Is.EqualTo(int8));
        Assert.That(r.GetProperty("metadata").TryGetProperty("quantization", out _), Is.EqualTo(int8));
        Assert.That(r.GetProperty("metadata").GetProperty("source_sha256").GetString(), Has.Length.EqualTo(64));
        Report($"{name}: checker ok, IR {r.GetProperty("ir_version")}, opset {r.GetProperty("opsets").GetProperty("ai.onnx")}, ops {string.Join(",", ops)}");
    }

    private static string Dims(JsonElement e) => string.Join(",", e.EnumerateArray().Select(d => d.ToString()));
}
