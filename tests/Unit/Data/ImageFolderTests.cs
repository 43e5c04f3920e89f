using Harness.Data;
using Harness.Data.ImageFolder;
using Harness.Tests.TestSupport;
using SkiaSharp;
using System.Diagnostics;

namespace Harness.Tests.Unit.Data;

public class ImageFolderTests
{
    private string _dir = "";
    private string? _oldCache;

    [SetUp]
    public void SetUp()
    {
        _dir = Directory.CreateTempSubdirectory("harness-if-").FullName;
        _oldCache = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        Environment.SetEnvironmentVariable("XDG_CACHE_HOME", Path.Combine(_dir, "cache"));
    }

    [TearDown]
    public void TearDown()
    {
        Environment.SetEnvironmentVariable("XDG_CACHE_HOME", _oldCache);
        Directory.Delete(_dir, true);
    }

    private void Image(string split, string cls, string name, int size, byte r, SKEncodedImageFormat format = SKEncodedImageFormat.Png)
    {
        string folder = Path.Combine(_dir, "data", split, cls);
        Directory.CreateDirectory(folder);
        using var bmp = new SKBitmap(size, size, SKColorType.Rgba8888, SKAlphaType.Premul);
        bmp.Erase(new SKColor(r, 20, 200));
        using var data = bmp.Encode(format, 100);
        File.WriteAllBytes(Path.Combine(folder, name), data.ToArray());
    }

    [Test]
    public void TheSameDataSetUnderAnotherPathUsesTheSameCacheAndCacheClearRemovesIt()
    {
        foreach (var split in new[] { "train", "test" })
        {
            Image(split, "cat", "1.png", 8, 10);
            Image(split, "dog", "1.png", 8, 30);
        }
        DatasetLocator.Open(Path.Combine(_dir, "data"));
        Assert.That(ImageFolderCache.List(), Has.Count.EqualTo(2), "one file per split");
        string copy = Path.Combine(_dir, "elsewhere", "copy");
        foreach (var file in Directory.EnumerateFiles(Path.Combine(_dir, "data"), "*", SearchOption.AllDirectories))
        {
            string target = Path.Combine(copy, Path.GetRelativePath(Path.Combine(_dir, "data"), file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
            File.SetLastWriteTimeUtc(target, File.GetLastWriteTimeUtc(file)); // as cp -p or rsync -t keep it
        }
        var logs = new List<string>();
        DatasetLocator.Open(copy, logs.Add);
        Assert.That(logs.Count(l => l.Contains("from cache")), Is.EqualTo(2), string.Join("\n", logs));
        Assert.That(ImageFolderCache.List(), Has.Count.EqualTo(2), "the copy is not cached a second time");

        File.SetLastWriteTimeUtc(Path.Combine(copy, "train", "cat", "1.png"), DateTime.UtcNow.AddDays(1));
        DatasetLocator.Open(copy);
        Assert.That(ImageFolderCache.List(), Has.Count.EqualTo(3), "a changed file is a new key");

        File.WriteAllText(Path.Combine(ImageFolderCache.Folder, "notes.txt"), "not a cache file");
        var (code, output, _) = HarnessCli.Run(Harness.Cli.Commands.CacheCommand.Create(), "cache", "list", "--json");
        Assert.That(code, Is.EqualTo(0));
        var listed = System.Text.Json.JsonDocument.Parse(output).RootElement;
        Assert.That(listed.GetProperty("files").GetArrayLength(), Is.EqualTo(3));
        Assert.That(listed.GetProperty("totalBytes").GetInt64(), Is.EqualTo(ImageFolderCache.List().Sum(e => e.Bytes)));
        (code, output, _) = HarnessCli.Run(Harness.Cli.Commands.CacheCommand.Create(), "cache", "clear");
        Assert.That(code, Is.EqualTo(0));
        Assert.That(output, Does.StartWith("removed 3 file(s)"));
        Assert.That(ImageFolderCache.List(), Is.Empty);
        Assert.That(File.Exists(Path.Combine(ImageFolderCache.Folder, "notes.txt")), "only cache files are removed");
    }

    [Test]
    public void ReadsClassesInSortedOrderWithExactPixelsAndUsesTheCache()
    {
        foreach (var split in new[] { "train", "test" })
        {
            Image(split, "b_cat", "1.png", 8, 10);
            Image(split, "a_dog", "1.png", 8, 30);
            Image(split, "a_dog", "2.png", 8, 40);
        }
        var found = DatasetLocator.Open(Path.Combine(_dir, "data"));
        Assert.That(found.Layout, Is.EqualTo(DataLayout.ImageFolder));
        Assert.That(found.Train.Classes, Is.EqualTo(new[] { "a_dog", "b_cat" }));
        Assert.That(found.Train.Labels, Is.EqualTo(new byte[] { 0, 0, 1 }));
        Assert.That(found.Train.Pixels[0], Is.EqualTo(30), "R plane of the first image");
        Assert.That(found.Train.Pixels[64], Is.EqualTo(20), "G plane");
        Assert.That(found.Train.Pixels[128], Is.EqualTo(200), "B plane");
        var logs = new List<string>();
        var again = DatasetLocator.Open(Path.Combine(_dir, "data"), logs.Add);
        Assert.That(logs, Has.Some.Contains("from cache"));
        Assert.That(again.Train.Pixels, Is.EqualTo(found.Train.Pixels));
    }

    [Test]
    public void UnreadableImageIsNamed()
    {
        Image("train", "a", "1.png", 4, 1);
        Image("test", "a", "1.png", 4, 1);
        File.WriteAllText(Path.Combine(_dir, "data", "train", "a", "2.jpg"), "not an image");
        var ex = Assert.Throws<InvalidDataException>(() => DatasetLocator.Open(Path.Combine(_dir, "data")));
        Assert.That(ex!.Message, Does.Contain("2.jpg"));
    }

    [Test]
    public void EmptyClassFolderIsNamed()
    {
        Image("train", "a", "1.png", 4, 1);
        Image("test", "a", "1.png", 4, 1);
        Directory.CreateDirectory(Path.Combine(_dir, "data", "train", "b"));
        Directory.CreateDirectory(Path.Combine(_dir, "data", "test", "b"));
        var ex = Assert.Throws<InvalidDataException>(() => DatasetLocator.Open(Path.Combine(_dir, "data")));
        Assert.That(ex!.Message, Does.Contain(Path.Combine("train", "b")).And.Contain("no images"));
    }

    [Test]
    public void MismatchedClassSetsAreNamed()
    {
        Image("train", "a", "1.png", 4, 1);
        Image("test", "b", "1.png", 4, 1);
        var ex = Assert.Throws<InvalidDataException>(() => DatasetLocator.Open(Path.Combine(_dir, "data")));
        Assert.That(ex!.Message, Does.Contain("train").And.Contain("test").And.Contain("[a]").And.Contain("[b]"));
    }

    [Test]
    public void ImagesOfDifferentSizesAreRefused()
    {
        Image("train", "a", "1.png", 4, 1);
        Image("train", "a", "2.png", 5, 1);
        Image("test", "a", "1.png", 4, 1);
        var ex = Assert.Throws<InvalidDataException>(() => DatasetLocator.Open(Path.Combine(_dir, "data")));
        Assert.That(ex!.Message, Does.Contain("2.png"));
    }

    [Test]
    public void SharedJpegFolderHoldsAllOfCifar10()
    {
        string root = SharedData.RequireShared("cifar10-jpeg");
        Environment.SetEnvironmentVariable("XDG_CACHE_HOME", _oldCache);
        var sw = Stopwatch.StartNew();
        var logs = new List<string>();
        var found = DatasetLocator.Open(root, logs.Add);
        foreach (var l in logs) TestContext.Out.WriteLine(l);
        TestContext.Out.WriteLine($"loaded in {sw.Elapsed.TotalSeconds:F1} s");
        Assert.That(found.Train.Count, Is.EqualTo(50_000));
        Assert.That(found.Test.Count, Is.EqualTo(10_000));
        Assert.That(found.Train.ClassCounts(), Is.All.EqualTo(5000));
        Assert.That(found.Test.ClassCounts(), Is.All.EqualTo(1000));
        Assert.That(found.Train.Classes, Is.EqualTo(Harness.Data.Cifar.CifarClasses.Names));
        Assert.That((found.Train.Height, found.Train.Width), Is.EqualTo((32, 32)));
    }
}
