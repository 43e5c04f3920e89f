using Harness.Model.Families;
using Harness.Storage.Checkpoints;
using Harness.Tests.TestSupport;
using System.Security.Cryptography;
using static TorchSharp.torch;

namespace Harness.Tests.Unit.Storage.Checkpoints;

public class WeightsResolverTests : TempDirectoryTest
{
    [Test]
    public void NoneMeansRandomInitialisationAndAMissingPathIsNamed()
    {
        var resolver = new WeightsResolver { CacheDirectory = Dir };
        Assert.That(resolver.Resolve("none"), Is.Null);
        var ex = Assert.Throws<FileNotFoundException>(() => resolver.Resolve(Path.Combine(Dir, "nope.pth")));
        Assert.That(ex!.Message, Does.Contain("nope.pth"));
    }

    [Test]
    public void ImageNetIsTakenFromTheTorchHubCacheWithoutDownloading()
    {
        string cached = Path.Combine(Dir, WeightsResolver.ImageNetFileName);
        File.WriteAllText(cached, "x");
        using var server = new LocalHttpServer();
        var resolver = new WeightsResolver { CacheDirectory = Dir, BaseUrl = server.BaseUrl };
        Assert.That(resolver.Resolve("imagenet"), Is.EqualTo(cached));
        Assert.That(server.Requests, Is.Zero);
    }

    [Test]
    public void TorchHomeDecidesTheCacheFolderAsInPyTorch()
    {
        string? old = Environment.GetEnvironmentVariable("TORCH_HOME");
        try
        {
            Environment.SetEnvironmentVariable("TORCH_HOME", Dir);
            Assert.That(WeightsResolver.DefaultCacheDirectory(), Is.EqualTo(Path.Combine(Dir, "hub", "checkpoints")));
        }
        finally { Environment.SetEnvironmentVariable("TORCH_HOME", old); }
    }

    [Test]
    public void DownloadWithMatchingHashLandsInTheCache()
    {
        byte[] body = RandomNumberGenerator.GetBytes(100_000);
        string prefix = Convert.ToHexString(SHA256.HashData(body)).ToLowerInvariant()[..8];
        using var server = new LocalHttpServer();
        server.Add("file.pth", body);
        long last = 0;
        var resolver = new WeightsResolver { CacheDirectory = Dir, BaseUrl = server.BaseUrl, Progress = (d, _) => last = d };
        string target = Path.Combine(Dir, "file.pth");
        resolver.Download(server.BaseUrl + "file.pth", target, prefix);
        Assert.That(File.ReadAllBytes(target), Is.EqualTo(body));
        Assert.That(last, Is.EqualTo(body.Length), "progress reached the end");
        Assert.That(Directory.GetFiles(Dir), Is.EqualTo(new[] { target }));
    }

    [Test]
    public void DownloadWithWrongHashIsRefusedAndLeavesNothing()
    {
        using var server = new LocalHttpServer();
        server.Add(WeightsResolver.ImageNetFileName, RandomNumberGenerator.GetBytes(1000));
        var resolver = new WeightsResolver { CacheDirectory = Dir, BaseUrl = server.BaseUrl };
        var ex = Assert.Throws<InvalidDataException>(() => resolver.Resolve("imagenet"));
        Assert.That(ex!.Message, Does.Contain("SHA-256").And.Contain("7f5810bc"));
        Assert.That(Directory.GetFiles(Dir), Is.Empty);
    }

    [Test]
    public void CutDownloadNeverCountsAsAFile()
    {
        using var server = new LocalHttpServer();
        server.Add("cut.pth", RandomNumberGenerator.GetBytes(1000), declaredLength: 50_000);
        var resolver = new WeightsResolver { CacheDirectory = Dir, BaseUrl = server.BaseUrl };
        Assert.Throws(Is.InstanceOf<IOException>(), () => resolver.Download(server.BaseUrl + "cut.pth", Path.Combine(Dir, "cut.pth"), "00"));
        Assert.That(Directory.GetFiles(Dir), Is.Empty);
    }

    [Test]
    public void MissingFileOnTheServerIsAClearError()
    {
        using var server = new LocalHttpServer();
        var resolver = new WeightsResolver { CacheDirectory = Dir, BaseUrl = server.BaseUrl };
        var ex = Assert.Throws<IOException>(() => resolver.Resolve("imagenet"));
        Assert.That(ex!.Message, Does.Contain("404"));
    }

    [Test]
    public void ImageNetCheckpointLoadsStrictlyAndGetsATenClassHead()
    {
        // A stand-in for torchvision's file: a 1000-class B0 saved in PyTorch format into the hub cache.
        manual_seed(5);
        using var reference = EfficientNet.Create(EfficientNetConfig.B0(1000));
        TorchCheckpoint.Save(Path.Combine(Dir, WeightsResolver.ImageNetFileName), reference);
        using var model = EfficientNets.Load("imagenet", 10, new WeightsResolver { CacheDirectory = Dir, BaseUrl = "http://127.0.0.1:9/" });
        Assert.That(model.Widths.NumClasses, Is.EqualTo(10));
        Assert.That(model.parameters().Sum(p => p.numel()), Is.EqualTo(4_020_358));
        var a = reference.state_dict();
        foreach (var (key, t) in model.state_dict().Where(kv => !kv.Key.StartsWith("classifier.")))
            Assert.That(TensorAssert.Identical(t, a[key]), Is.True, key);
    }
}
