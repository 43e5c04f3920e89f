using Harness.Storage.Files;
using System.Security.Cryptography;
using System.Text;

namespace Harness.Data.ImageFolder;

/// <summary>
/// Where decoded image folders are kept: <c>$XDG_CACHE_HOME/harness/image-folders/</c> (or <c>~/.cache/…</c>), one
/// file per split, named by a key of its content: each image's path relative to the split folder, its label, size
/// and modification time. The same data set under another path (a copy that kept its times, a symlink, a moved
/// folder) is therefore found again instead of being decoded and stored twice; a changed file makes a new key.
/// </summary>
public static class ImageFolderCache
{
    public sealed record Entry(string Path, long Bytes, DateTime WrittenUtc);

    public static string Folder => System.IO.Path.Combine(CacheFolders.User(), "harness", "image-folders");

    /// <summary>The key of a split's files (paths under <paramref name="split"/>, in order, with their labels).</summary>
    public static string Key(string split, IReadOnlyList<(string Path, byte Label)> files)
    {
        var sb = new StringBuilder();
        foreach (var (path, label) in files)
        {
            var info = new FileInfo(path);
            string relative = System.IO.Path.GetRelativePath(split, path).Replace('\\', '/');
            sb.Append(relative).Append('|').Append(label).Append('|').Append(info.Length).Append('|').Append(info.LastWriteTimeUtc.Ticks).Append('\n');
        }
        return Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(sb.ToString())))[..24].ToLowerInvariant();
    }

    public static string PathFor(string split, string key) =>
        System.IO.Path.Combine(Folder, $"{System.IO.Path.GetFileName(System.IO.Path.TrimEndingDirectorySeparator(split))}-{key}.bin");

    /// <summary>Every cache file (and write left half-done), largest first.</summary>
    public static IReadOnlyList<Entry> List()
    {
        if (!Directory.Exists(Folder)) return [];
        return Directory.EnumerateFiles(Folder).Where(IsOurs).Select(f => new FileInfo(f))
            .Select(i => new Entry(i.FullName, i.Length, i.LastWriteTimeUtc)).OrderByDescending(e => e.Bytes).ThenBy(e => e.Path, StringComparer.Ordinal).ToList();
    }

    /// <summary>Removes every cache file; returns how many and their bytes. Nothing else in the folder is touched.</summary>
    public static (int Files, long Bytes) Clear()
    {
        int n = 0;
        long bytes = 0;
        foreach (var e in List())
        {
            File.Delete(e.Path);
            n++;
            bytes += e.Bytes;
        }
        return (n, bytes);
    }

    private static bool IsOurs(string path) =>
        path.EndsWith(".bin", StringComparison.Ordinal) || AtomicFile.IsTemporary(path);
}
