using Harness.Model;
using Harness.Pruning.FineGrained;
using Harness.Storage.Checkpoints;
using Harness.Tests.TestSupport;
using System.Text.Json;

namespace Harness.Tests.Parity;

/// <summary><c>torch.nn.utils.prune</c> on the same weights gives bit-identical masks: global L1 unstructured,
/// per-layer <c>l1_unstructured</c>, <c>ln_structured</c> (n=1, dim 0 and 1); and <c>prune.remove</c> gives the
/// same weights as Harness's make-permanent.</summary>
[TestFixture, Category("Parity")]
public sealed class PruneMaskParityTests : ParityFixture
{
    private const double Amount = 0.3;

    private static readonly Dictionary<string, FineGrainedOptions> Methods = new()
    {
        ["global_l1"] = new() { Amount = Amount },
        ["layer_l1"] = new() { Amount = Amount, Scope = PruningScope.Layer },
        ["ln_structured_dim0"] = new() { Amount = Amount, Scope = PruningScope.Layer, Granularity = Granularity.Structured, Dim = 0 },
        ["ln_structured_dim1"] = new() { Amount = Amount, Scope = PruningScope.Layer, Granularity = Granularity.Structured, Dim = 1 },
    };

    public static IEnumerable<TestCaseData> Cases() =>
        from v in Variants from m in Methods.Keys select new TestCaseData(v, m).SetName($"{{m}}({v},{m})");

    [OneTimeSetUp]
    public void PruneInPyTorch()
    {
        foreach (var variant in Variants)
        {
            string folder = Directory.CreateDirectory(In(variant)).FullName;
            using var model = SeededModel(variant, 41);
            ModelLoader.Save(model, Path.Combine(folder, "model.pth"));
            using (var weights = new StateDict())
            {
                foreach (var (name, layer) in model.PrunableLayers()) weights.Add(name, layer.Weight.detach().clone());
                TorchCheckpoint.Save(Path.Combine(folder, "weights.pth"), weights);
            }
            File.WriteAllText(Path.Combine(folder, "params.json"), JsonSerializer.Serialize(new { amount = Amount }));
            PythonTorch.Run("prune_masks.py", folder);
        }
    }

    [TestCaseSource(nameof(Cases))]
    public void MasksAndPermanentWeightsAreBitIdenticalToTorchNnUtilsPrune(string variant, string method)
    {
        string folder = In(variant);
        using var model = EfficientNets.LoadCheckpoint(Path.Combine(folder, "model.pth"));
        FineGrainedPruner.Prune(model, Methods[method]);
        using var torchMasks = TorchCheckpoint.Load(Path.Combine(folder, $"masks_{method}.pth"));
        using var torchPermanent = TorchCheckpoint.Load(Path.Combine(folder, $"permanent_{method}.pth"));
        long pruned = 0, total = 0;
        foreach (var (name, layer) in model.PrunableLayers())
        {
            Assert.That(TensorAssert.Identical(torchMasks[name], layer.Mask!), Is.True, $"{method} mask of {name}");
            pruned += (long)layer.Mask!.numel() - layer.Mask.count_nonzero().item<long>();
            total += layer.Mask.numel();
        }
        FineGrainedPruner.MakePermanent(model);
        foreach (var (name, layer) in model.PrunableLayers())
            Assert.That(TensorAssert.Identical(torchPermanent[name], layer.Weight), Is.True, $"{method} permanent weight of {name}");
        Report($"{variant} {method}: masks of {torchMasks.Count} layers bit-identical ({(double)pruned / total:P2} of the weights masked); remove() = make-permanent");
    }
}
