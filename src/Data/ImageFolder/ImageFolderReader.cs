using Harness.Storage.Files;
using System.Buffers.Binary;
using System.Diagnostics;
using System.Security.Cryptography;

namespace Harness.Data.ImageFolder;

/// <summary>
/// torchvision's ImageFolder layout: <c>&lt;split&gt;/&lt;class&gt;/&lt;image&gt;</c>, classes = sorted folder names.
/// Images are decoded with SkiaSharp once, in parallel, into a compact uint8 array that is cached on disk
/// (<see cref="ImageFolderCache"/>: keyed by the relative file list, sizes and times; the cache carries a SHA-256 of
/// its content, checked on load).
/// </summary>
public static class ImageFolderReader
{
    private static readonly string[] Extensions = [".jpg", ".jpeg", ".png", ".bmp", ".webp", ".gif"];
    private static ReadOnlySpan<byte> CacheMagic => "HIMGCACHE1"u8;

    public static (ImageDataset Train, ImageDataset Test) ReadSplit(string root, Action<string>? log = null)
    {
        var trainClasses = ClassFolders(Path.Combine(root, "train"));
        var testClasses = ClassFolders(Path.Combine(root, "test"));
        if (!trainClasses.SequenceEqual(testClasses))
            throw new InvalidDataException(
                $"{Path.Combine(root, "train")} has classes [{string.Join(", ", trainClasses)}] but {Path.Combine(root, "test")} has [{string.Join(", ", testClasses)}]");
        return (Read(Path.Combine(root, "train"), trainClasses, log), Read(Path.Combine(root, "test"), testClasses, log));
    }

    public static IReadOnlyList<string> ClassFolders(string split)
    {
        if (!Directory.Exists(split)) throw new DirectoryNotFoundException($"image folder '{split}' is missing");
        var classes = Directory.GetDirectories(split).Select(Path.GetFileName).Where(n => !n!.StartsWith('.'))
            .Order(StringComparer.Ordinal).ToList();
        if (classes.Count == 0) throw new InvalidDataException($"{split}: no class folders");
        return classes!;
    }

    public static ImageDataset Read(string split, IReadOnlyList<string> classes, Action<string>? log = null)
    {
        var files = new List<(string Path, byte Label)>();
        for (int c = 0; c < classes.Count; c++)
        {
            string dir = Path.Combine(split, classes[c]);
            var images = Directory.GetFiles(dir).Where(f => Extensions.Contains(Path.GetExtension(f).ToLowerInvariant()))
                .Order(StringComparer.Ordinal).ToList();
            if (images.Count == 0) throw new InvalidDataException($"{dir}: class folder has no images");
            files.AddRange(images.Select(f => (f, (byte)c)));
        }
        string cachePath = ImageFolderCache.PathFor(split, ImageFolderCache.Key(split, files));
        var sw = Stopwatch.StartNew();
        if (TryLoadCache(cachePath, files.Count, classes, split, out var cached))
        {
            log?.Invoke($"{split}: {files.Count} images from cache {cachePath} in {sw.Elapsed.TotalSeconds:F2} s ({files.Count / Math.Max(sw.Elapsed.TotalSeconds, 1e-9):N0} images/s)");
            return cached!;
        }
        var first = ImageDecoder.Decode(files[0].Path);
        int h = first.Height, w = first.Width, size = 3 * h * w;
        var pixels = new byte[(long)files.Count * size];
        try
        {
            Parallel.For(0, files.Count, i =>
            {
                var img = i == 0 ? first : ImageDecoder.Decode(files[i].Path);
                if (img.Height != h || img.Width != w)
                    throw new InvalidDataException($"{files[i].Path}: image is {img.Width}×{img.Height}, others are {w}×{h}");
                Buffer.BlockCopy(img.Chw, 0, pixels, i * size, size);
            });
        }
        catch (AggregateException ex) when (ex.InnerExceptions.Count > 0)
        {
            // Report the first bad file as a plain error naming it.
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(ex.InnerExceptions[0]).Throw();
        }
        var labels = files.Select(f => f.Label).ToArray();
        var set = new ImageDataset(pixels, labels, h, w, classes, split);
        double decodeSeconds = sw.Elapsed.TotalSeconds;
        TrySaveCache(cachePath, set);
        log?.Invoke($"{split}: decoded {files.Count} images in {decodeSeconds:F2} s ({files.Count / Math.Max(decodeSeconds, 1e-9):N0} images/s); cached at {cachePath}");
        return set;
    }


    private static bool TryLoadCache(string path, int count, IReadOnlyList<string> classes, string split, out ImageDataset? set)
    {
        set = null;
        if (!File.Exists(path)) return false;
        byte[] all = File.ReadAllBytes(path);
        int header = CacheMagic.Length + 12 + 32;
        if (all.Length < header || !all.AsSpan(0, CacheMagic.Length).SequenceEqual(CacheMagic)) return false;
        int n = BinaryPrimitives.ReadInt32LittleEndian(all.AsSpan(CacheMagic.Length));
        int h = BinaryPrimitives.ReadInt32LittleEndian(all.AsSpan(CacheMagic.Length + 4));
        int w = BinaryPrimitives.ReadInt32LittleEndian(all.AsSpan(CacheMagic.Length + 8));
        var payload = all.AsSpan(header);
        if (n != count || payload.Length != (long)n * (3 * h * w + 1)) return false;
        if (!SHA256.HashData(payload).AsSpan().SequenceEqual(all.AsSpan(CacheMagic.Length + 12, 32))) return false;
        set = new ImageDataset(payload[n..].ToArray(), payload[..n].ToArray(), h, w, classes, split);
        return true;
    }

    private static void TrySaveCache(string path, ImageDataset set)
    {
        try
        {
            var payload = new byte[set.Count + set.Pixels.LongLength];
            set.Labels.CopyTo(payload, 0);
            set.Pixels.CopyTo(payload, set.Count);
            var head = new byte[12];
            BinaryPrimitives.WriteInt32LittleEndian(head, set.Count);
            BinaryPrimitives.WriteInt32LittleEndian(head.AsSpan(4), set.Height);
            BinaryPrimitives.WriteInt32LittleEndian(head.AsSpan(8), set.Width);
            byte[] hash = SHA256.HashData(payload);
            AtomicFile.Write(path, s => { s.Write(CacheMagic); s.Write(head); s.Write(hash); s.Write(payload); });
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // A cache that cannot be written only costs the next run a decode.
        }
    }
}
