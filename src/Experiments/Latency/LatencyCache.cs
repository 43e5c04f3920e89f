using Harness.Model.Networks;
using Harness.Storage.Files;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Harness.Experiments.Latency;

/// <summary>
/// Latency tables kept between runs, one JSON file per key in <c>$XDG_CACHE_HOME/harness/latency/</c> (or the folder
/// given). The key covers what the figures depend on: the network's structure (every state-dict tensor's name and
/// shape — weights do not change a dense network's time), the widths each group may take, the runtime, batch, input
/// side and threads, and the machine (<see cref="LatencyMachine"/>: CPU, cores, runtime versions). A file is reused
/// only when the key written in it is the key asked for; one that does not parse is measured again and replaced.
/// </summary>
public sealed class LatencyCache(string folder)
{
    public string Folder { get; } = folder;

    public static string DefaultFolder => Path.Combine(CacheFolders.User(), "harness", "latency");

    /// <summary>The key's text (what it covers, readable) for a network, its choices and a setting.</summary>
    public static string KeyText(IPrunableNetwork model, IReadOnlyList<WidthChoices> choices, LatencySetting setting, string machine)
    {
        var sb = new StringBuilder("harness latency table v2\n");
        sb.Append(CultureInfo.InvariantCulture, $"network {model.Architecture} classes {model.NumClasses}\n");
        foreach (var (name, t) in model.Module.state_dict().OrderBy(p => p.Key, StringComparer.Ordinal))
            sb.Append(name).Append(' ').Append(string.Join('x', t.shape)).Append('\n');
        foreach (var c in choices)
            sb.Append(CultureInfo.InvariantCulture, $"group {c.Group} {c.Space} {c.Channels}: {string.Join(' ', c.Widths)}\n");
        sb.Append("setting ").Append(setting.KeyText).Append('\n');
        sb.Append("machine ").Append(machine).Append('\n');
        return sb.ToString();
    }

    public static string KeyOf(string keyText) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(keyText)));

    public string PathOf(string key) => Path.Combine(Folder, $"{key[..24]}.json");

    /// <summary>The table stored under <paramref name="key"/>, or null when there is none (or it is unreadable or
    /// holds another key).</summary>
    public LatencyTable? Load(string key)
    {
        string path = PathOf(key);
        if (!File.Exists(path)) return null;
        try
        {
            var table = HarnessJson.Deserialize<LatencyTable>(File.ReadAllText(path));
            return table is not null && table.Key == key && table.BaseMs > 0 && double.IsFinite(table.BaseMs)
                   && table.Samples.All(s => s.Ms > 0 && double.IsFinite(s.Ms)) ? table : null;
        }
        catch (Exception e) when (e is JsonException or IOException or NotSupportedException or InvalidOperationException or ArgumentException)
        {
            return null;
        }
    }

    public void Save(LatencyTable table)
    {
        AtomicFile.WriteAllText(PathOf(table.Key), HarnessJson.Serialize(table) + "\n");
    }
}
