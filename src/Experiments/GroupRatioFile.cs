using Harness.Storage.Files;
using System.Globalization;

namespace Harness.Experiments;

/// <summary>Per-group channel ratios as a file: <c>sensitivity --to-ratios</c> writes one for a MACs budget and
/// <c>prune channel --group-ratios</c> reads it (<c>{"groupRatios": {"ID": RATIO}}</c>; the budget fields say what it
/// was made for).</summary>
public sealed record GroupRatioFile(IReadOnlyDictionary<string, double> GroupRatios, long TargetMacs = 0, long AchievedMacs = 0, long ModelMacs = 0, int ImageSize = 0)
{
    /// <summary>The file of an allocation by group id.</summary>
    public static GroupRatioFile Of(IReadOnlyDictionary<int, double> groupRatios, long targetMacs, long achievedMacs, long modelMacs, int imageSize) =>
        new(groupRatios.OrderBy(kv => kv.Key).ToDictionary(kv => kv.Key.ToString(CultureInfo.InvariantCulture), kv => kv.Value),
            targetMacs, achievedMacs, modelMacs, imageSize);

    public void Write(string path) => AtomicFile.WriteAllText(path, HarnessJson.Serialize(this) + "\n");

    /// <summary>The ratios by group id of the file <paramref name="option"/> names; a missing file, a document of
    /// another shape or a key that is no group id is one message naming the option and the file.</summary>
    public static IReadOnlyDictionary<int, double> Read(string file, string option)
    {
        if (!File.Exists(file)) throw new FileNotFoundException($"{option} '{file}': no such file", file);
        GroupRatioFile? doc;
        try { doc = HarnessJson.Deserialize<GroupRatioFile>(File.ReadAllText(file)); }
        catch (System.Text.Json.JsonException ex) { throw new InvalidDataException($"{option} '{file}': not a group-ratio file ({ex.Message})", ex); }
        var result = new Dictionary<int, double>();
        foreach (var (id, r) in doc?.GroupRatios ?? new Dictionary<string, double>())
        {
            if (!int.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out int g))
                throw new InvalidDataException($"{option} '{file}': '{id}' is not a group id");
            result[g] = r;
        }
        return result;
    }

    /// <summary>Parses <c>ID=RATIO</c> pairs such as <c>5=0.5</c> (<c>--group-ratio</c>).</summary>
    public static IReadOnlyDictionary<int, double> ParsePairs(IEnumerable<string> values, string option)
    {
        var result = new Dictionary<int, double>();
        foreach (var v in values)
        {
            var parts = v.Split('=', 2);
            if (parts.Length != 2 || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int id)
                || !double.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out double r))
                throw new ArgumentException($"{option} '{v}': expected ID=RATIO, e.g. 5=0.5");
            if (!result.TryAdd(id, r)) throw new ArgumentException($"{option}: group {id} is given twice");
        }
        return result;
    }
}
