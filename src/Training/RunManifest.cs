using Harness.Storage.Files;
using System.Reflection;
using System.Security.Cryptography;
using System.Text.Json;
using static TorchSharp.torch;

namespace Harness.Training;

/// <summary>
/// What made an output: every effective setting (the data's identity and the initial weights' SHA-256 among them),
/// compared on a rerun or a resume, and the environment (Harness version and commit, TorchSharp and libtorch,
/// threads, device, machine), recorded but not compared. Written atomically as <c>manifest.json</c>.
/// </summary>
public sealed record RunManifest(SortedDictionary<string, string> Settings, SortedDictionary<string, string> Environment)
{
    public const string FileName = "manifest.json";

    /// <summary>A manifest of <paramref name="settings"/> (null values are recorded as "none") with this
    /// process's environment.</summary>
    public static RunManifest Create(IEnumerable<KeyValuePair<string, string?>> settings, string device)
    {
        var s = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var (k, v) in settings) s[k] = v ?? "none";
        return new RunManifest(s, CurrentEnvironment(device));
    }

    public static SortedDictionary<string, string> CurrentEnvironment(string device)
    {
        var harness = typeof(RunManifest).Assembly;
        string version = harness.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";
        return new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            ["harness_version"] = version.Split('+')[0],
            ["harness_commit"] = version.Contains('+') ? version[(version.IndexOf('+') + 1)..] : "unknown",
            ["torchsharp"] = typeof(TorchSharp.torch).Assembly.GetName().Version?.ToString() ?? "unknown",
            ["libtorch"] = __version__,
            ["threads"] = get_num_threads().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["device"] = device,
            ["memory_format"] = Harness.Runtime.MemoryLayout.EffectiveName(TorchSharp.torch.device(device)),
            ["dotnet"] = System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription,
            ["os"] = System.Runtime.InteropServices.RuntimeInformation.OSDescription,
            ["machine"] = System.Environment.MachineName,
        };
    }

    /// <summary>The SHA-256 of a file (hex), or "none" for no file (random initialisation).</summary>
    public static string HashOf(string? path)
    {
        if (path is null || !File.Exists(path)) return "none";
        using var stream = File.OpenRead(path);
        return Convert.ToHexString(SHA256.HashData(stream)).ToLowerInvariant();
    }

    /// <summary>The settings that differ, as "name: recorded → now".</summary>
    public IReadOnlyList<string> Differences(RunManifest current)
    {
        var keys = Settings.Keys.Union(current.Settings.Keys).Order(StringComparer.Ordinal);
        var diffs = new List<string>();
        foreach (var k in keys)
        {
            string before = Settings.GetValueOrDefault(k, "(absent)"), now = current.Settings.GetValueOrDefault(k, "(absent)");
            if (before != now) diffs.Add($"{k}: {Short(before)} → {Short(now)}");
        }
        return diffs;
    }

    private static string Short(string v) => v.Length > 24 && v.All(Uri.IsHexDigit) ? v[..12] + "…" : v;

    public void Save(string path) => AtomicFile.WriteAllText(path, HarnessJson.Serialize(this));

    public static RunManifest? Load(string path)
    {
        if (!File.Exists(path)) return null;
        try
        {
            return HarnessJson.Deserialize<RunManifest>(File.ReadAllText(path))
                   ?? throw new InvalidDataException($"{path}: empty manifest");
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"{path}: not a Harness manifest ({ex.Message}); pass --force to recompute", ex);
        }
    }

    /// <summary>
    /// Compares the manifest recorded in <paramref name="path"/> (if any) with <paramref name="current"/>. Returns true
    /// when the recorded output may be reused (same settings, or nothing recorded yet and nothing to reuse). With
    /// differences: without <paramref name="force"/> refuses in one line listing them; with it, says so and returns
    /// false (the caller recomputes).
    /// </summary>
    public static bool Matches(string path, RunManifest current, bool force, TextWriter log, string what)
    {
        var recorded = Load(path);
        if (recorded is null) return true;
        var diffs = recorded.Differences(current);
        if (diffs.Count == 0) return true;
        string list = string.Join("; ", diffs);
        if (!force)
            throw new ArgumentException($"{what} in {Path.GetDirectoryName(Path.GetFullPath(path))} was made with other settings ({list}); pass --force to recompute it");
        log.WriteLine($"--force: recomputing {what} (settings differ: {list})");
        return false;
    }
}
