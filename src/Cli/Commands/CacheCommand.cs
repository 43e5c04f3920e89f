using Harness.Data.ImageFolder;
using Harness.Storage.Files;
using System.CommandLine;

namespace Harness.Cli.Commands;

/// <summary><c>cache list|clear</c>: the decoded image folders Harness keeps (<see cref="ImageFolderCache"/>), their
/// sizes, and removing them.</summary>
public static class CacheCommand
{
    public static Command Create() => new("cache", $"The decoded image-folder cache ({ImageFolderCache.Folder})") { List(), Clear() };

    private static Command List()
    {
        var json = CommonOptions.Json();
        var cmd = new Command("list", "Cache files with their sizes, largest first, and the total") { json };
        cmd.SetAction(parse =>
        {
            var output = parse.InvocationConfiguration.Output;
            var entries = ImageFolderCache.List();
            long total = entries.Sum(e => e.Bytes);
            if (parse.GetValue(json))
            {
                output.WriteLine(HarnessJson.Serialize(new { folder = ImageFolderCache.Folder, totalBytes = total, files = entries }));
                return 0;
            }
            foreach (var e in entries)
                output.WriteLine($"{e.Bytes / 1e6,10:F1} MB  {e.WrittenUtc:yyyy-MM-dd HH:mm}  {e.Path}");
            output.WriteLine($"{entries.Count} file(s), {total / 1e6:F1} MB in {ImageFolderCache.Folder}");
            return 0;
        });
        return cmd;
    }

    private static Command Clear()
    {
        var json = CommonOptions.Json();
        var cmd = new Command("clear", "Remove every cache file (the next run decodes its images again)") { json };
        cmd.SetAction(parse =>
        {
            var output = parse.InvocationConfiguration.Output;
            var (files, bytes) = ImageFolderCache.Clear();
            if (parse.GetValue(json)) output.WriteLine(HarnessJson.Serialize(new { folder = ImageFolderCache.Folder, removedFiles = files, removedBytes = bytes }));
            else output.WriteLine($"removed {files} file(s), {bytes / 1e6:F1} MB from {ImageFolderCache.Folder}");
            return 0;
        });
        return cmd;
    }
}
