using Harness.Model;
using Harness.Model.Families;
using Harness.Model.Networks;
using Harness.Pruning.Channels;
using Harness.Pruning.FineGrained;
using Harness.Storage.Checkpoints;
using Harness.Tests.TestSupport;
using static TorchSharp.torch;

namespace Harness.Tests.Unit.Model;

/// <summary>Every registered architecture goes through the same loader: a dense, masked or channel-pruned network
/// saved by Harness loads back as the same architecture with the same tensors and logits, from its metadata and,
/// without metadata, from its keys and shapes alone.</summary>
public class ArchitectureCheckpointTests : TempDirectoryTest
{
    private static IEnumerable<TestCaseData> Variants() =>
        Registry.OnePerFamily.SelectMany(v =>
            new[] { "dense", "masked", "channel" }.Select(kind => new TestCaseData(v, kind).SetArgDisplayNames(v, kind)));

    private static IPrunableNetwork Make(string variant, string kind)
    {
        manual_seed(11);
        var net = Architectures.Create(variant, 10).Build();
        RandomBatchNorm.Randomise(net.Module, 11);
        if (kind == "masked") FineGrainedPruner.Prune(net.Module, new FineGrainedOptions { Amount = 0.3 });
        if (kind != "channel") return net;
        using (net) return ChannelPruner.Prune(net, new ChannelPruningOptions { Ratio = 0.5, RoundTo = 8 }).Model;
    }

    [TestCaseSource(nameof(Variants))]
    public void SavedNetworksLoadBackAsTheSameArchitectureWithTheSameLogits(string variant, string kind)
    {
        using var net = Make(variant, kind);
        net.Module.eval();
        string withMeta = Path.Combine(Dir, "meta.pth"), bare = Path.Combine(Dir, "bare.pth");
        ModelLoader.Save(net, withMeta);
        TorchCheckpoint.Save(bare, net.Module);
        using var x = randn(2, 3, 32, 32);
        using var expected = net.Module.call(x);
        foreach (string path in new[] { withMeta, bare })
        {
            using var loaded = ModelLoader.LoadNetwork(path);
            Assert.That(loaded.GetType(), Is.EqualTo(net.GetType()), path);
            Assert.That(loaded.Architecture, Is.EqualTo(net.Architecture));
            var a = net.Module.state_dict();
            var b = loaded.Module.state_dict();
            Assert.That(b.Keys, Is.EqualTo(a.Keys), path);
            Assert.That(a.All(kv => kv.Value.shape.SequenceEqual(b[kv.Key].shape) && (kv.Value == b[kv.Key]).all().item<bool>()), path);
            loaded.Module.eval();
            using var actual = loaded.Module.call(x);
            Assert.That((actual - expected).abs().max().item<float>(), Is.EqualTo(0f), path);
        }
    }

    [Test]
    public void AMetadataRecordOfAnotherArchitectureOrAnUnknownOneIsRefused()
    {
        Assert.That(() => new ResNetArchitecture().FromMetadata("""{"architecture":"mobilenet_v2","widths":{}}"""),
            Throws.InstanceOf<System.Text.Json.JsonException>().With.Message.Contains("mobilenet_v2"));
        Assert.That(() => Architectures.FromMetadata("""{"architecture":"vgg16"}"""), Throws.ArgumentException.With.Message.Contains("vgg16"));
        Assert.That(() => Architectures.Create("resnet34", 10), Throws.ArgumentException.With.Message.Contains("resnet18, resnet50"));
    }

    [Test]
    public void EachArchitectureRecognisesOnlyItsOwnKeys()
    {
        foreach (string variant in Architectures.VariantNames)
        {
            using var net = Architectures.Create(variant, 10).Build();
            var keys = net.Module.state_dict().Keys.ToList();
            var matching = Architectures.All.Where(a => a.Recognises(keys)).Select(a => a.Family).ToList();
            Assert.That(matching, Is.EqualTo(new[] { net.Architecture }), variant);
        }
    }
}
