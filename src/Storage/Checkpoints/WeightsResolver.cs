using Harness.Storage.Files;
using System.Security.Cryptography;

namespace Harness.Storage.Checkpoints;

/// <summary>
/// Resolves <c>--weights</c>: <c>none</c> (random initialisation), <c>imagenet</c> (torchvision's ImageNet
/// checkpoint of the architecture, EfficientNet-B0's unless another file is named, from the torch hub cache or
/// downloaded there with its hash checked) or a path.
/// </summary>
public sealed class WeightsResolver
{
    public const string ImageNetFileName = "efficientnet_b0_rwightman-7f5810bc.pth";
    public const string DefaultBaseUrl = "https://download.pytorch.org/models/";

    /// <summary>Where downloads come from (torchvision's URL; tests point it at a local server).</summary>
    public string BaseUrl { get; init; } = Environment.GetEnvironmentVariable("HARNESS_WEIGHTS_BASE_URL") ?? DefaultBaseUrl;

    /// <summary>The torch hub checkpoint folder: <c>$TORCH_HOME/hub/checkpoints</c>, where TORCH_HOME defaults to
    /// <c>$XDG_CACHE_HOME/torch</c> or <c>~/.cache/torch</c>, as in PyTorch.</summary>
    public string CacheDirectory { get; init; } = DefaultCacheDirectory();

    /// <summary>Progress callback (bytes so far, total or null); the CLI draws a bar with it.</summary>
    public Action<long, long?>? Progress { get; init; }

    public HttpClient? Http { get; init; }

    public static string DefaultCacheDirectory()
    {
        string? torchHome = Environment.GetEnvironmentVariable("TORCH_HOME");
        if (string.IsNullOrEmpty(torchHome)) torchHome = Path.Combine(CacheFolders.User(), "torch");
        return Path.Combine(torchHome, "hub", "checkpoints");
    }

    /// <summary>Returns null for <c>none</c>, else the path of an existing checkpoint file; <c>imagenet</c> is the
    /// torch hub file <paramref name="imageNetFile"/> (whose name ends in its SHA-256 prefix, torch hub's rule).</summary>
    public string? Resolve(string weights, string imageNetFile = ImageNetFileName)
    {
        if (string.IsNullOrWhiteSpace(weights))
            throw new ArgumentException("--weights is empty: expected 'imagenet', 'none' or a checkpoint path");
        if (weights.Equals("none", StringComparison.OrdinalIgnoreCase)) return null;
        if (weights.Equals("imagenet", StringComparison.OrdinalIgnoreCase)) return ResolveImageNet(imageNetFile);
        if (!File.Exists(weights))
            throw new FileNotFoundException(
                $"--weights '{weights}': no such file (expected 'imagenet', 'none' or a checkpoint path)", weights);
        return weights;
    }

    private string ResolveImageNet(string file)
    {
        string target = Path.Combine(CacheDirectory, file);
        if (File.Exists(target)) return target;
        string stem = Path.GetFileNameWithoutExtension(file);
        string url = BaseUrl.TrimEnd('/') + "/" + file;
        try
        {
            Download(url, target, stem[(stem.LastIndexOf('-') + 1)..]);
        }
        catch (IOException ex)
        {
            // Offline, the user needs to know where torchvision's file goes, or that none runs without it.
            throw new IOException($"--weights imagenet: {file} is not in the torch hub cache and could not be downloaded " +
                                  $"({ex.Message}); place {url} at {target}, or pass --weights none", ex);
        }
        return target;
    }

    /// <summary>Downloads to a temporary name beside <paramref name="target"/>, checks that the SHA-256 starts
    /// with <paramref name="hashPrefix"/> (torch hub's rule), then moves it into place. A failed or partial
    /// download leaves nothing behind.</summary>
    public void Download(string url, string target, string hashPrefix)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(target))!);
        string tmp = target + $".{Guid.NewGuid():N}.partial";
        var http = Http ?? new HttpClient { Timeout = TimeSpan.FromMinutes(30) };
        try
        {
            HttpDownload.ToFile(http, url, tmp, Progress);
            string hash;
            using (var fs = File.OpenRead(tmp))
                hash = Convert.ToHexString(SHA256.HashData(fs)).ToLowerInvariant();
            if (!hash.StartsWith(hashPrefix, StringComparison.Ordinal))
                throw new InvalidDataException(
                    $"download of {url}: SHA-256 {hash} does not start with '{hashPrefix}' (corrupt or wrong file); nothing was kept");
            File.Move(tmp, target, overwrite: true);
        }
        finally
        {
            if (File.Exists(tmp)) File.Delete(tmp);
            if (Http is null) http.Dispose();
        }
    }
}
