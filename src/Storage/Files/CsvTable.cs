using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Harness.Storage.Files;

/// <summary>
/// The one CSV writer of Harness (RFC 4180): a header of snake_case names, then one line a row; numbers in the
/// invariant culture at full precision (a double is written so that it parses back to the same value), an absent
/// value as an empty cell, booleans as <c>true</c>/<c>false</c>, cells with a comma, quote or line break quoted.
/// Files are written atomically.
/// </summary>
public static partial class CsvTable
{
    [GeneratedRegex("^[a-z][a-z0-9]*(_[a-z0-9]+)*$")]
    private static partial Regex SnakeCase();

    public static string Format(IReadOnlyList<string> header, IEnumerable<IReadOnlyList<object?>> rows)
    {
        foreach (var h in header)
            if (!SnakeCase().IsMatch(h))
                throw new ArgumentException($"CSV column '{h}' is not snake_case", nameof(header));
        if (header.Distinct(StringComparer.Ordinal).Count() != header.Count)
            throw new ArgumentException("CSV columns must be distinct", nameof(header));
        var sb = new StringBuilder();
        sb.AppendJoin(',', header).Append('\n');
        int line = 1;
        foreach (var row in rows)
        {
            line++;
            if (row.Count != header.Count)
                throw new ArgumentException($"CSV row {line} has {row.Count} cells, the header {header.Count}", nameof(rows));
            sb.AppendJoin(',', row.Select(Cell)).Append('\n');
        }
        return sb.ToString();
    }

    public static void Write(string path, IReadOnlyList<string> header, IEnumerable<IReadOnlyList<object?>> rows) =>
        AtomicFile.WriteAllText(path, Format(header, rows));

    /// <summary>One cell as <see cref="Format"/> writes it.</summary>
    public static string Cell(object? value) => Escape(value switch
    {
        null => "",
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        float f => f.ToString("R", CultureInfo.InvariantCulture),
        bool b => b ? "true" : "false",
        Enum e => e.ToString(),
        IFormattable x => x.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    });

    private static string Escape(string cell) =>
        cell.IndexOfAny([',', '"', '\n', '\r']) < 0 ? cell : $"\"{cell.Replace("\"", "\"\"", StringComparison.Ordinal)}\"";
}
