using System.Text.RegularExpressions;

namespace Harness.Storage.Files;

/// <summary>Writes a file through a temporary name in the same folder, then renames it into place, so a reader
/// never sees half a file and an interrupted write leaves the old file (or nothing). A killed process can leave
/// its temporary behind: <c>.&lt;name&gt;.&lt;32 hex digits&gt;.tmp</c> (<see cref="TemporaryPathFor"/>), which
/// <see cref="IsTemporary"/> recognises so that the next run can remove it.</summary>
public static partial class AtomicFile
{
    /// <summary>Writes <paramref name="path"/> through a temporary file in the same folder, then renames it into place.</summary>
    /// <param name="path">The file to write.</param>
    /// <param name="write">Writes the content to the temporary file's stream.</param>
    /// <param name="beforeRename">Called with the temporary path once it is complete, before it replaces
    /// <paramref name="path"/>. An exception from it leaves the temporary file behind, as a kill at that moment
    /// would (tests simulate crashes with it).</param>
    public static void Write(string path, Action<Stream> write, Action<string>? beforeRename = null)
    {
        string full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        string tmp = TemporaryPathFor(full);
        try
        {
            using var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16);
            write(fs);
            fs.Flush(flushToDisk: true);
        }
        catch
        {
            TryDelete(tmp);
            throw;
        }
        beforeRename?.Invoke(tmp);
        try
        {
            File.Move(tmp, full, overwrite: true);
        }
        catch
        {
            TryDelete(tmp);
            throw;
        }
    }

    public static void WriteAllText(string path, string text) =>
        Write(path, s => { using var w = new StreamWriter(s, leaveOpen: true); w.Write(text); });

    public static void WriteAllBytes(string path, ReadOnlySpan<byte> bytes)
    {
        var copy = bytes.ToArray();
        Write(path, s => s.Write(copy));
    }

    /// <summary>A fresh temporary name beside <paramref name="path"/> (a file or a folder), unique per call.</summary>
    public static string TemporaryPathFor(string path)
    {
        string full = Path.GetFullPath(path);
        return Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
    }

    /// <summary>True when <paramref name="path"/> is named like a temporary of <see cref="TemporaryPathFor"/>;
    /// with <paramref name="target"/>, only a temporary of that file name.</summary>
    public static bool IsTemporary(string path, string? target = null)
    {
        var m = TemporaryName().Match(Path.GetFileName(path));
        return m.Success && (target is null || m.Groups["target"].Value == target);
    }

    /// <summary>Removes the temporaries (files and folders) directly in <paramref name="folder"/> that earlier,
    /// interrupted writes left; with <paramref name="target"/>, only those of that file name. Returns their paths.</summary>
    public static IReadOnlyList<string> DeleteStaleTemporaries(string folder, string? target = null)
    {
        if (!Directory.Exists(folder)) return [];
        var stale = Directory.EnumerateFileSystemEntries(folder).Where(p => IsTemporary(p, target)).ToList();
        foreach (var p in stale)
        {
            if (Directory.Exists(p)) Directory.Delete(p, recursive: true);
            else File.Delete(p);
        }
        return stale;
    }

    private static void TryDelete(string path)
    {
        try { File.Delete(path); } catch (IOException) { }
    }

    [GeneratedRegex(@"^\.(?<target>.+)\.[0-9a-f]{32}\.tmp$")]
    private static partial Regex TemporaryName();
}
