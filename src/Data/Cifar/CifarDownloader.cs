using Harness.Storage.Files;
using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;

namespace Harness.Data.Cifar;

/// <summary>
/// Fetches the official CIFAR-10 binary archive into an empty data folder: downloads to a temporary name with
/// progress, checks the published MD5, extracts safely (an entry that would land outside the target folder, or a
/// link, is refused) into a temporary folder, and only then moves <c>cifar-10-batches-bin/</c> into place. A
/// partial or corrupt download never counts as data.
/// </summary>
public sealed class CifarDownloader
{
    public const string DefaultUrl = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz";
    public const string DefaultMd5 = "c32a1d4ab5d03f1284b67883e8d87530";

    public string Url { get; init; } = DefaultUrl;
    public string Md5 { get; init; } = DefaultMd5;
    public HttpClient? Http { get; init; }
    public Action<long, long?>? Progress { get; init; }

    public void DownloadInto(string folder)
    {
        Directory.CreateDirectory(folder);
        string archive = Path.Combine(folder, $".cifar-10-binary.{Guid.NewGuid():N}.partial");
        string staging = Path.Combine(folder, $".extract-{Guid.NewGuid():N}");
        var http = Http ?? new HttpClient { Timeout = TimeSpan.FromHours(1) };
        try
        {
            HttpDownload.ToFile(http, Url, archive, Progress);
            string md5;
            using (var fs = File.OpenRead(archive)) md5 = Convert.ToHexString(MD5.HashData(fs)).ToLowerInvariant();
            if (md5 != Md5)
                throw new InvalidDataException($"download of {Url}: MD5 {md5} differs from the published {Md5}; nothing was kept");
            ExtractSafely(archive, staging);
            string extracted = Path.Combine(staging, "cifar-10-batches-bin");
            if (!Directory.Exists(extracted))
                throw new InvalidDataException($"{Url}: the archive has no cifar-10-batches-bin/ folder");
            Directory.Move(extracted, Path.Combine(folder, "cifar-10-batches-bin"));
        }
        finally
        {
            if (File.Exists(archive)) File.Delete(archive);
            if (Directory.Exists(staging)) Directory.Delete(staging, true);
            if (Http is null) http.Dispose();
        }
    }

    /// <summary>Extracts a .tar.gz, refusing links and any entry whose path resolves outside <paramref name="target"/>.</summary>
    public static void ExtractSafely(string archive, string target)
    {
        string root = Path.GetFullPath(target) + Path.DirectorySeparatorChar;
        Directory.CreateDirectory(root);
        using var gz = new GZipStream(File.OpenRead(archive), CompressionMode.Decompress);
        using var tar = new TarReader(gz);
        while (tar.GetNextEntry() is { } entry)
        {
            string dest = Path.GetFullPath(Path.Combine(root, entry.Name));
            if (!dest.StartsWith(root, StringComparison.Ordinal))
                throw new InvalidDataException($"{archive}: entry '{entry.Name}' would land outside {target}; refused");
            switch (entry.EntryType)
            {
                case TarEntryType.Directory:
                    Directory.CreateDirectory(dest);
                    break;
                case TarEntryType.RegularFile or TarEntryType.V7RegularFile:
                    Directory.CreateDirectory(Path.GetDirectoryName(dest)!);
                    entry.ExtractToFile(dest, overwrite: false);
                    break;
                case TarEntryType.SymbolicLink or TarEntryType.HardLink:
                    throw new InvalidDataException($"{archive}: entry '{entry.Name}' is a link; refused");
                default:
                    break;
            }
        }
    }
}
