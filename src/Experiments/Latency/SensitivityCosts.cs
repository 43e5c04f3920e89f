using Harness.Pruning.Channels;
using System.Globalization;
using System.Text;

namespace Harness.Experiments.Latency;

/// <summary>
/// The cost of narrowing each group read from a channel sensitivity scan (<c>harness sensitivity</c>'s
/// <c>sensitivity.csv</c>): the accuracy the scan lost with that group alone pruned, by channels removed, interpolated
/// linearly between the scanned ratios (none removed: no loss), made monotone, and extended past the largest scanned
/// ratio along its last segment. With it, <c>--target-latency</c> removes the least measured accuracy per millisecond
/// instead of the least importance. A group the scan left out keeps all its channels.
/// </summary>
public static class SensitivityCosts
{
    public static Func<IReadOnlyList<WidthChoices>, IReadOnlyDictionary<int, double[]>> Read(string path, DependencyGraph graph, string option)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{option} '{path}': no such file", path);
        var lines = File.ReadAllLines(path).Where(l => l.Length > 0).ToList();
        if (lines.Count == 0) throw new InvalidDataException($"{option} '{path}': empty file (expected sensitivity.csv from harness sensitivity)");
        var header = Split(lines[0]);
        if (header.Count > 0 && header[0] == "layer")
            throw new InvalidDataException($"{option} '{path}': a fine-grained (per-layer) scan; a channel scan (per group) is needed");
        int unit = header.IndexOf("group"), removed = header.IndexOf("removed"), drop = header.IndexOf("drop");
        if (unit != 0 || removed < 0 || drop < 0)
            throw new InvalidDataException($"{option} '{path}': expected the columns of sensitivity.csv (group, members, ratio, removed, …, drop)");
        var groups = graph.Groups.ToDictionary(g => g.Id, g => g.Channels);
        var points = new Dictionary<int, List<(int Removed, double Drop)>>();
        for (int i = 1; i < lines.Count; i++)
        {
            var cells = Split(lines[i]);
            if (cells.Count != header.Count
                || !int.TryParse(cells[unit], NumberStyles.None, CultureInfo.InvariantCulture, out int g)
                || !int.TryParse(cells[removed], NumberStyles.None, CultureInfo.InvariantCulture, out int r)
                || !double.TryParse(cells[drop], NumberStyles.Float, CultureInfo.InvariantCulture, out double d) || !double.IsFinite(d))
                throw new InvalidDataException($"{option} '{path}': line {i + 1} is not a row of a channel scan");
            if (!groups.TryGetValue(g, out int channels))
                throw new InvalidDataException($"{option} '{path}': line {i + 1} names group {g}, which this network does not have (groups 0..{groups.Keys.Max()})");
            if (r < 0 || r >= channels)
                throw new InvalidDataException($"{option} '{path}': line {i + 1} removes {r} of group {g}'s {channels} channels (a scan of another network?)");
            if (!points.TryGetValue(g, out var list)) points[g] = list = [(0, 0)];
            list.Add((r, d));
        }
        var curves = points.ToDictionary(p => p.Key, p => Monotone(p.Value));
        return choices => choices.ToDictionary(c => c.Group, c => c.Widths.Select(w =>
            w >= c.Channels ? 0 : curves.TryGetValue(c.Group, out var curve) ? At(curve, c.Channels - w) : double.PositiveInfinity).ToArray());
    }

    private static List<(int Removed, double Drop)> Monotone(List<(int Removed, double Drop)> points)
    {
        var sorted = points.GroupBy(p => p.Removed).Select(g => (Removed: g.Key, Drop: g.Average(p => p.Drop))).OrderBy(p => p.Removed).ToList();
        double most = 0;
        return sorted.Select(p => (p.Removed, most = Math.Max(most, p.Drop))).ToList();
    }

    private static double At(List<(int Removed, double Drop)> curve, int removed)
    {
        for (int i = 1; i < curve.Count; i++)
            if (removed <= curve[i].Removed)
            {
                var (r0, d0) = curve[i - 1];
                var (r1, d1) = curve[i];
                return d0 + (d1 - d0) * (removed - r0) / (double)(r1 - r0);
            }
        if (curve.Count < 2) return 0;
        var (a, da) = curve[^2];
        var (b, db) = curve[^1];
        return db + (db - da) * (removed - b) / (double)(b - a);
    }

    /// <summary>One CSV line's cells (RFC 4180 quotes).</summary>
    private static List<string> Split(string line)
    {
        var cells = new List<string>();
        var cell = new StringBuilder();
        bool quoted = false;
        for (int i = 0; i < line.Length; i++)
        {
            char ch = line[i];
            if (quoted)
            {
                if (ch == '"' && i + 1 < line.Length && line[i + 1] == '"') { cell.Append('"'); i++; }
                else if (ch == '"') quoted = false;
                else cell.Append(ch);
            }
            else if (ch == '"') quoted = true;
            else if (ch == ',') { cells.Add(cell.ToString()); cell.Clear(); }
            else cell.Append(ch);
        }
        cells.Add(cell.ToString());
        return cells;
    }
}
