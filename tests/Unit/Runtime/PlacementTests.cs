using Harness.Model;
using Harness.Pruning.Channels;
using Harness.Runtime;
using Harness.Tests.TestSupport;
using TorchSharp;
using static TorchSharp.torch;

namespace Harness.Tests.Unit.Runtime;

/// <summary>A network's device and precision (<see cref="Placement"/>) are kept by everything that builds modules
/// for it: a new classifier, a channel-pruned copy, a folded copy, the meters' inputs.</summary>
public class PlacementTests
{
    [TestCaseSource(typeof(Registry), nameof(Registry.OnePerFamily))]
    public void AFloat64NetworkStaysFloat64WhenItsHeadIsReplacedAndWhenItIsChannelPruned(string arch)
    {
        using var model = ModelLoader.LoadNetwork("none", arch, 10);
        model.Module.to(ScalarType.Float64);
        Assert.That(Placement.Of(model.Module), Is.EqualTo(new Placement(CPU, ScalarType.Float64)));
        model.ReplaceClassifier(7);
        Assert.That(model.Module.parameters().Select(p => p.dtype).Distinct(), Is.EqualTo(new[] { ScalarType.Float64 }), "after ReplaceClassifier");
        using var pruned = ChannelPruner.Prune(model, new ChannelPruningOptions { Ratio = 0.5 }).Model;
        Assert.That(pruned.Module.parameters().Select(p => p.dtype).Distinct(), Is.EqualTo(new[] { ScalarType.Float64 }), "after channel pruning");
        model.Module.eval();
        pruned.Module.eval();
        using var input = Placement.Of(pruned.Module).SeededInput([2, 3, 32, 32], 3);
        Assert.That(input.dtype, Is.EqualTo(ScalarType.Float64));
        using var _ = no_grad();
        using var logits = pruned.Module.call(input);
        Assert.That(logits.shape, Is.EqualTo(new long[] { 2, 7 }));
    }

    [Test]
    public void AModuleWithoutParametersIsTakenToBeFloat32OnTheCpu() =>
        Assert.That(Placement.Of(nn.ReLU()), Is.EqualTo(Placement.Default));
}
