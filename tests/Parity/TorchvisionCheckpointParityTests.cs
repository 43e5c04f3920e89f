using Harness.Model.Families;
using Harness.Storage.Checkpoints;
using Harness.Tests.TestSupport;
using static TorchSharp.torch;

namespace Harness.Tests.Parity;

/// <summary>torchvision's own files load unchanged into Harness and give torchvision's logits: random weights and
/// random BatchNorm statistics, saved by <c>torch.save</c>, eval mode, at 32 and 224 px; and the 1000-class file
/// that <c>--weights imagenet</c> resolves keeps torchvision's features when the head is replaced.</summary>
[TestFixture, Category("Parity")]
public sealed class TorchvisionCheckpointParityTests : ParityFixture
{
    [OneTimeSetUp]
    public void RunTorchvision() => PythonTorch.Run("torchvision_models.py", Exchange);

    [TestCaseSource(nameof(Variants))]
    public void TorchvisionCheckpointGivesTorchvisionsLogitsAt32And224(string variant)
    {
        using var model = EfficientNets.LoadCheckpoint(In($"tv_{variant}.pth"));
        model.eval();
        using var outputs = TorchCheckpoint.Load(In($"tv_{variant}_outputs.pth"));
        using var _ = no_grad();
        foreach (int size in new[] { 32, 224 })
        {
            using var logits = model.call(outputs[$"input_{size}"]);
            double rel = RelativeDifference(outputs[$"logits_{size}"], logits);
            Report($"{variant} at {size} px: max relative logit difference {rel:E2}");
            Assert.That(rel, Is.LessThanOrEqualTo(1e-5), $"{variant} at {size} px");
        }
    }

    [TestCaseSource(nameof(Variants))]
    public void TorchvisionCheckpointLoadsStrictlyIntoTheConfiguredNetwork(string variant)
    {
        using var model = EfficientNet.Create(Config(variant));
        using var sd = TorchCheckpoint.Load(In($"tv_{variant}.pth"));
        Assert.That(sd.Keys, Is.EqualTo(StateDict.FromModule(model).Keys), "state-dict names and order");
        StateDictLoader.Load(model, sd, strict: true, sourceName: $"tv_{variant}.pth");
        foreach (var (name, tensor) in StateDict.FromModule(model).Items)
            Assert.That(TensorAssert.Identical(sd[name], tensor), Is.True, name);
    }

    [Test]
    public void ImageNetResolutionReplacesTheHeadAndKeepsTorchvisionsFeatures()
    {
        var resolver = new WeightsResolver { CacheDirectory = Exchange, BaseUrl = "http://127.0.0.1:9/unused/" };
        using var model = EfficientNets.Load("imagenet", 10, resolver);
        model.eval();
        Assert.That(model.Classifier.Weight.shape, Is.EqualTo(new long[] { 10, 1280 }));
        using var outputs = TorchCheckpoint.Load(In("imagenet_features.pth"));
        using var _ = no_grad();
        var features = (nn.Module<Tensor, Tensor>)model.named_children().Single(c => c.name == "features").module;
        using var pooled = nn.functional.adaptive_avg_pool2d(features.call(outputs["input"]), 1).flatten(1);
        double rel = RelativeDifference(outputs["features"], pooled);
        Report($"imagenet features after head replacement: max relative difference {rel:E2}");
        Assert.That(rel, Is.LessThanOrEqualTo(1e-5));
    }
}
