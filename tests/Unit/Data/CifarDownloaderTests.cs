using Harness.Data;
using Harness.Data.Cifar;
using Harness.Tests.TestSupport;
using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;

namespace Harness.Tests.Unit.Data;

public class CifarDownloaderTests : TempDirectoryTest
{
    private static byte[] TarGz(params (string Name, byte[] Data)[] files)
    {
        using var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Fastest, leaveOpen: true))
        using (var tar = new TarWriter(gz))
            foreach (var (name, data) in files)
                tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(data) });
        return ms.ToArray();
    }

    private static byte[] Batch(int n) => Enumerable.Range(0, n * 3073).Select(i => (byte)(i % 3073 == 0 ? 3 : i % 251)).ToArray();

    private static (string Name, byte[] Data)[] CifarFiles() =>
        [.. Enumerable.Range(1, 5).Select(i => ($"cifar-10-batches-bin/data_batch_{i}.bin", Batch(2))), ("cifar-10-batches-bin/test_batch.bin", Batch(1))];

    private static string Md5(byte[] b) => Convert.ToHexString(MD5.HashData(b)).ToLowerInvariant();

    [Test]
    public void GoodArchiveIsVerifiedExtractedAndReadable()
    {
        var archive = TarGz(CifarFiles());
        using var server = new LocalHttpServer();
        server.Add("c.tar.gz", archive);
        new CifarDownloader { Url = server.BaseUrl + "c.tar.gz", Md5 = Md5(archive) }.DownloadInto(Dir);
        var found = DatasetLocator.Open(Dir);
        Assert.That((found.Train.Count, found.Test.Count), Is.EqualTo((10, 1)));
        Assert.That(Directory.GetFileSystemEntries(Dir).Select(Path.GetFileName), Is.EqualTo(new[] { "cifar-10-batches-bin" }), "no partial files left");
    }

    [Test]
    public void WrongMd5IsRefusedAndLeavesNoData()
    {
        var archive = TarGz(CifarFiles());
        using var server = new LocalHttpServer();
        server.Add("c.tar.gz", archive);
        var ex = Assert.Throws<InvalidDataException>(() => new CifarDownloader { Url = server.BaseUrl + "c.tar.gz", Md5 = "00" }.DownloadInto(Dir));
        Assert.That(ex!.Message, Does.Contain("MD5"));
        Assert.That(Directory.GetFileSystemEntries(Dir), Is.Empty);
    }

    [Test]
    public void EntryEscapingTheTargetFolderIsRefused()
    {
        var archive = TarGz(("../evil.txt", [1, 2, 3]));
        using var server = new LocalHttpServer();
        server.Add("e.tar.gz", archive);
        string target = Path.Combine(Dir, "data");
        var ex = Assert.Throws<InvalidDataException>(() => new CifarDownloader { Url = server.BaseUrl + "e.tar.gz", Md5 = Md5(archive) }.DownloadInto(target));
        Assert.That(ex!.Message, Does.Contain("../evil.txt").And.Contain("outside"));
        Assert.That(File.Exists(Path.Combine(Dir, "evil.txt")), Is.False);
        Assert.That(Directory.GetFileSystemEntries(target), Is.Empty);
    }
}
