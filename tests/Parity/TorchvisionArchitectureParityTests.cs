using Harness.Model.Networks;
using Harness.Storage.Checkpoints;
using Harness.Tests.TestSupport;
using TorchSharp;
using static TorchSharp.torch;

namespace Harness.Tests.Parity;

/// <summary>torchvision's <c>resnet18</c>, <c>resnet50</c> and <c>mobilenet_v2</c> (10 classes, random weights and
/// random BatchNorm statistics, saved by <c>torch.save</c>) load into the Harness network built from the file's
/// shapes with torchvision's names, order and shapes, and give torchvision's eval-mode logits at 64 px (and 224 px
/// for resnet18). In float32 the bound is 1e-5 relative, or twice torchvision's own float32 error (its float32
/// logits against those of a float64 copy) where that is larger: a random MobileNetV2's logits are small beside its
/// activations, and both libraries then sit near 1e-5 from the exact values. The same network in float64 agrees with
/// torchvision's float64 logits to 1e-9, far below any rounding difference of float32.</summary>
[TestFixture, Category("Parity")]
public sealed class TorchvisionArchitectureParityTests : ParityFixture
{
    public static readonly string[] Architectures = Registry.BeyondEfficientNet;

    [OneTimeSetUp]
    public void RunTorchvision() => PythonTorch.Run("torchvision_architectures.py", Exchange, args: Architectures);

    /// <summary>The Harness network of an architecture, built from a state dict's shapes alone.</summary>
    private static IPrunableNetwork FromShapes(string architecture, StateDict sd) =>
        Harness.Model.Networks.Architectures.OfVariant(architecture).Architecture.FromShapes(sd.Shapes()).Build();

    private static object TorchvisionWidths(string architecture) => Harness.Model.Networks.Architectures.Create(architecture, 10);

    [TestCaseSource(nameof(Architectures))]
    public void TorchvisionFileLoadsStrictlyWithTheSameNamesOrderAndShapes(string architecture)
    {
        using var sd = TorchCheckpoint.Load(In($"tv_{architecture}.pth"));
        using var network = FromShapes(architecture, sd);
        object widths = Harness.Model.Networks.Architectures.ForFamily(network.Architecture).FromMetadata(network.MetadataJson());
        Assert.That(widths, Is.EqualTo(TorchvisionWidths(architecture)), "widths read from the file's shapes");
        using (var fresh = StateDict.FromModule(network.Module))
        {
            Assert.That(fresh.Keys, Is.EqualTo(sd.Keys), "state-dict names and order");
            Assert.That(fresh.Items.Select(i => i.Value.shape), Is.EqualTo(sd.Items.Select(i => i.Value.shape)), "shapes");
        }
        StateDictLoader.Load(network.Module, sd, strict: true, sourceName: $"tv_{architecture}.pth");
        using var loaded = StateDict.FromModule(network.Module);
        foreach (var (name, tensor) in loaded.Items)
            Assert.That(TensorAssert.Identical(sd[name], tensor), Is.True, name);
    }

    [TestCaseSource(nameof(Architectures))]
    public void TorchvisionFileGivesTorchvisionsLogitsInEvalMode(string architecture)
    {
        using var sd = TorchCheckpoint.Load(In($"tv_{architecture}.pth"));
        using var network = FromShapes(architecture, sd);
        StateDictLoader.Load(network.Module, sd, strict: true, sourceName: $"tv_{architecture}.pth");
        network.Module.eval();
        using var outputs = TorchCheckpoint.Load(In($"tv_{architecture}_outputs.pth"));
        using var _ = no_grad();
        var sizes = outputs.Keys.Where(k => k.StartsWith("input_", StringComparison.Ordinal)).ToList();
        Assert.That(sizes, Is.Not.Empty);
        foreach (var input in sizes)
        {
            string size = input["input_".Length..];
            using var logits = network.Module.call(outputs[input]);
            double rel = RelativeDifference(outputs[$"logits_{size}"], logits);
            double own = RelativeDifference(outputs[$"logits64_{size}"], outputs[$"logits_{size}"]);
            Report($"{architecture} at {size} px, float32: max relative logit difference {rel:E2} (torchvision's own float32 error {own:E2})");
            Assert.That(rel, Is.LessThanOrEqualTo(Math.Max(1e-5, 2 * own)), $"{architecture} at {size} px, float32");
        }
        network.Module.to(float64);
        foreach (var input in sizes)
        {
            string size = input["input_".Length..];
            using var x = outputs[input].to(float64);
            using var logits = network.Module.call(x);
            double rel = RelativeDifference(outputs[$"logits64_{size}"], logits);
            Report($"{architecture} at {size} px, float64: max relative logit difference {rel:E2}");
            Assert.That(rel, Is.LessThanOrEqualTo(1e-9), $"{architecture} at {size} px, float64");
        }
    }
}
