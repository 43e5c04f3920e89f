using Harness.Data;
using Harness.Data.Cifar;
using Harness.Model;
using Harness.Model.Families;
using Harness.Pruning.Channels;
using Harness.Pruning.FineGrained;
using Harness.Storage.Checkpoints;
using Harness.Tests.TestSupport;
using Harness.Training;
using System.Text.Json;
using static TorchSharp.torch;

namespace Harness.Tests.Parity;

/// <summary>Every kind of checkpoint Harness writes — dense, masked (<c>weight_orig</c>/<c>weight_mask</c>),
/// made permanent, channel-pruned, trained — is read by <c>torch.load(weights_only=True)</c>, loads strictly into
/// torchvision's model (masked: with <c>torch.nn.utils.prune</c>'s reparametrisation; channel-pruned: a torchvision
/// model rebuilt from the tensor shapes) and gives Harness's logits.</summary>
[TestFixture, Category("Parity")]
public sealed class HarnessCheckpointParityTests : ParityFixture
{
    private sealed record Case(string name, string file, string kind, string variant, string input);

    private static readonly string[] Kinds = ["dense", "masked", "permanent", "channel", "trained"];

    public static IEnumerable<TestCaseData> Cases() =>
        from v in Variants from k in Kinds select new TestCaseData(v, k).SetName($"{{m}}({v},{k})");

    private Dictionary<string, JsonElement> _results = [];

    [OneTimeSetUp]
    public void WriteCheckpointsAndReadThemInPyTorch()
    {
        var cases = new List<Case>();
        foreach (var variant in Variants)
        {
            string input = $"{variant}_input.pth";
            manual_seed(11);
            using (var x = new StateDict()) { x.Add("input", randn(2, 3, 64, 64)); TorchCheckpoint.Save(In(input), x); }
            foreach (var kind in Kinds)
            {
                using var model = Make(variant, kind);
                string file = $"{variant}_{kind}.pth";
                if (kind != "trained") ModelLoader.Save(model, In(file));
                SaveLogits(model, In(input), In($"{variant}_{kind}_harness_logits.pth"));
                cases.Add(new Case($"{variant}_{kind}", file, kind, variant, input));
            }
        }
        File.WriteAllText(In("cases.json"), JsonSerializer.Serialize(cases));
        PythonTorch.Run("read_harness_checkpoints.py", Exchange);
        _results = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(File.ReadAllText(In("results.json")))!;
    }

    private EfficientNet Make(string variant, string kind)
    {
        var model = SeededModel(variant, 21);
        switch (kind)
        {
            case "dense":
                return model;
            case "masked":
            case "permanent":
                FineGrainedPruner.Prune(model, new FineGrainedOptions { Amount = 0.4 });
                if (kind == "permanent") FineGrainedPruner.MakePermanent(model);
                return model;
            case "channel":
                using (model) return ChannelPruner.Prune(model, new ChannelPruningOptions { Ratio = 0.5 }).Model;
            case "trained":
                using (model) return Train(variant);
            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, null);
        }
    }

    /// <summary>One epoch of Harness's training loop on random images; the kept file is the one <c>train</c> writes.</summary>
    private EfficientNet Train(string variant)
    {
        var rng = new Random(5);
        var pixels = new byte[24 * 3 * 32 * 32];
        rng.NextBytes(pixels);
        var labels = Enumerable.Range(0, 24).Select(i => (byte)(i % 10)).ToArray();
        var data = new ImageDataset(pixels, labels, 32, 32, CifarClasses.Names, "random");
        var transform = new BatchTransform { ImageSize = 32 };
        var loader = new BatchLoader(data, 8, shuffle: true, transform with { Train = true }, CPU);
        var validation = new BatchLoader(data, 8, shuffle: false, transform, CPU);
        var run = TrainingRun.For($"{variant}_trained", Exchange);
        using (var model = SeededModel(variant, 31))
            new Trainer(new TrainingOptions { Epochs = 1, ImageSize = 32 }, TextWriter.Null).Train(model, loader, validation, run);
        File.Copy(run.BestModelPath, In($"{variant}_trained.pth"));
        return EfficientNets.LoadCheckpoint(run.BestModelPath);
    }

    private static void SaveLogits(EfficientNet model, string inputFile, string outputFile)
    {
        model.eval();
        using var input = TorchCheckpoint.Load(inputFile);
        using var _ = no_grad();
        using var logits = new StateDict();
        logits.Add("logits", model.call(input["input"]));
        TorchCheckpoint.Save(outputFile, logits);
    }

    [TestCaseSource(nameof(Cases))]
    public void TorchLoadsTheCheckpointStrictlyAndGivesHarnesssLogits(string variant, string kind)
    {
        var result = _results[$"{variant}_{kind}"];
        Assert.That(result.GetProperty("ok").GetBoolean(), Is.True,
            result.TryGetProperty("error", out var e) ? e.GetString() : "");
        using var harness = TorchCheckpoint.Load(In($"{variant}_{kind}_harness_logits.pth"));
        using var torch = TorchCheckpoint.Load(In($"{variant}_{kind}_torch_logits.pth"));
        double rel = RelativeDifference(harness["logits"], torch["logits"]);
        Report($"{variant} {kind}: torch.load(weights_only=True) read {result.GetProperty("tensors").GetInt32()} tensors; max relative logit difference {rel:E2}");
        Assert.That(rel, Is.LessThanOrEqualTo(1e-5));
    }
}
