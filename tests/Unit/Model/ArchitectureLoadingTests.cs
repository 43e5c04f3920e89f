using Harness.Model;
using Harness.Model.Families;
using Harness.Model.Networks;
using Harness.Storage.Checkpoints;
using Harness.Tests.TestSupport;
using static TorchSharp.torch;

namespace Harness.Tests.Unit.Model;

/// <summary><c>--weights</c> with <c>--arch</c>: none builds the variant from the seed alone; imagenet reads
/// torchvision's checkpoint of that variant from the torch hub cache (named as torch hub names it, its hash prefix
/// checked on download) and gives it a fresh head; a checkpoint of another family is refused, naming both.</summary>
public class ArchitectureLoadingTests : TempDirectoryTest
{
    [TestCase("resnet18", typeof(ResNet))]
    [TestCase("mobilenet_v2", typeof(MobileNetV2))]
    [TestCase("efficientnet_b0", typeof(EfficientNet))]
    public void NoneBuildsTheVariantFromTheSeedAlone(string arch, Type type)
    {
        using var a = ModelLoader.LoadNetwork("none", arch, 7, seed: 5);
        using var b = ModelLoader.LoadNetwork("none", arch, 7, seed: 5);
        using var c = ModelLoader.LoadNetwork("none", arch, 7, seed: 6);
        Assert.That(a, Is.TypeOf(type));
        Assert.That(a.NumClasses, Is.EqualTo(7));
        var first = a.PrunableLayers().First().Layer.Weight;
        Assert.That(TensorAssert.Identical(first, b.PrunableLayers().First().Layer.Weight));
        Assert.That(TensorAssert.Identical(first, c.PrunableLayers().First().Layer.Weight), Is.False);
    }

    [TestCase("resnet18", "resnet18-f37072fd.pth")]
    [TestCase("mobilenet_v2", "mobilenet_v2-b0353104.pth")]
    public void ImageNetReadsTheVariantsTorchHubFileAndReplacesTheHead(string arch, string file)
    {
        manual_seed(11);
        using (var imagenet = Architectures.Create(arch, 1000).Build())
            TorchCheckpoint.Save(Path.Combine(Dir, file), imagenet.Module); // a bare state dict, as torchvision's files are
        var resolver = new WeightsResolver { CacheDirectory = Dir, BaseUrl = "http://127.0.0.1:9/" };
        using var model = ModelLoader.LoadNetwork("imagenet", arch, 10, resolver, seed: 3);
        using var again = ModelLoader.LoadNetwork("imagenet", arch, 10, resolver, seed: 3);
        using var sd = TorchCheckpoint.Load(Path.Combine(Dir, file));
        var (firstName, firstLayer) = model.PrunableLayers().First();
        Assert.That(TensorAssert.Identical(firstLayer.Weight, sd[firstName + ".weight"]), "the backbone is the file's");
        Assert.That(model.NumClasses, Is.EqualTo(10));
        Assert.That(model.Classifier.Weight.shape, Is.EqualTo(new long[] { 10, model.Classifier.InFeatures }));
        Assert.That(TensorAssert.Identical(model.Classifier.Weight, again.Classifier.Weight), "the new head depends on the seed alone");
    }

    [Test]
    public void ADownloadIsCheckedAgainstTheHashPrefixInTheVariantsFileName()
    {
        using var server = new LocalHttpServer();
        server.Add("resnet18-f37072fd.pth", System.Security.Cryptography.RandomNumberGenerator.GetBytes(1000));
        var resolver = new WeightsResolver { CacheDirectory = Dir, BaseUrl = server.BaseUrl };
        var ex = Assert.Throws<InvalidDataException>(() => ModelLoader.LoadNetwork("imagenet", "resnet18", 10, resolver));
        Assert.That(ex!.Message, Does.Contain("f37072fd").And.Contain("resnet18-f37072fd.pth"));
        Assert.That(Directory.GetFiles(Dir), Is.Empty, "nothing is kept of a download that fails its check");
    }

    [Test]
    public void ACheckpointOfAnotherFamilyThanArchIsRefusedNamingBoth()
    {
        string path = Path.Combine(Dir, "b0.pth");
        using (var b0 = ModelLoader.LoadNetwork("none", "efficientnet_b0", 10)) ModelLoader.Save(b0, path);
        var ex = Assert.Throws<ArgumentException>(() => ModelLoader.LoadNetwork(path, "resnet18", 10));
        Assert.That(ex!.Message, Does.Contain("--arch resnet18").And.Contain("efficientnet").And.Contain(path));
        using var own = ModelLoader.LoadNetwork(path, null, 10);
        Assert.That(own, Is.TypeOf<EfficientNet>(), "without --arch a checkpoint is what it holds");
    }

    [Test]
    public void AnUnknownArchIsRefusedListingTheVariants()
    {
        var ex = Assert.Throws<ArgumentException>(() => ModelLoader.LoadNetwork("none", "vgg16", 10));
        Assert.That(ex!.Message, Does.Contain("vgg16").And.Contain("resnet18").And.Contain("mobilenet_v2"));
    }
}
