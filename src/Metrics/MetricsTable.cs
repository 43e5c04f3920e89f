using System.Globalization;
using System.Text;
using Spectre.Console;

namespace Harness.Metrics;

/// <summary>The metrics of several models as a table: header row plus one row per model, rendered as Markdown,
/// as a Spectre.Console table, or as rows for the table image.</summary>
public sealed class MetricsTable
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public IReadOnlyList<string> Headers { get; }
    public IReadOnlyList<IReadOnlyList<string>> Rows { get; }

    private MetricsTable(IReadOnlyList<string> headers, IReadOnlyList<IReadOnlyList<string>> rows)
    {
        Headers = headers;
        Rows = rows;
    }

    /// <summary>The table of <paramref name="models"/>; <paramref name="convention"/> picks which MACs come first
    /// (both are shown); <paramref name="deterministicOnly"/> keeps only columns that do not vary run to run
    /// (no timing, no resident memory).</summary>
    public static MetricsTable Build(IReadOnlyList<ModelMetrics> models, MacConvention convention = MacConvention.Thop,
        bool deterministicOnly = false)
    {
        var columns = Columns(convention).Where(c => !deterministicOnly || c.Deterministic).ToList();
        var rows = models.Select(m => (IReadOnlyList<string>)columns.Select(c => c.Value(m)).ToList()).ToList();
        return new MetricsTable(columns.Select(c => c.Header).ToList(), rows);
    }

    /// <summary>Every column, in display order.</summary>
    public static IReadOnlyList<MetricsColumn> Columns(MacConvention convention)
    {
        var other = convention == MacConvention.Thop ? MacConvention.TorchProfile : MacConvention.Thop;
        return
        [
            new("Model", true, m => m.Name),
            new("Params", true, m => m.Parameters.ToString("N0", Inv)),
            new("Nonzero", true, m => m.NonzeroParameters.ToString("N0", Inv)),
            new("Sparsity %", true, m => (100 * m.Sparsity).ToString("F2", Inv)),
            new("Size MB", true, m => m.SizeMB.ToString("F3", Inv)),
            new("Sparse MB", true, m => m.SparseSizeMB is double s ? s.ToString("F3", Inv) : "-"),
            new($"GMACs {Label(convention)}", true, m => Giga(m.Macs(convention))),
            new($"GFLOPs {Label(convention)}", true, m => Giga(m.Flops(convention))),
            new($"GMACs {Label(other)}", true, m => Giga(m.Macs(other))),
            new($"Eff. GMACs {Label(convention)}", true, m => Giga(m.EffectiveMacs(convention))),
            new("Latency ms mean/med/p95", false, m => m.Latency is { } l
                ? $"{l.MeanMs.ToString("F2", Inv)}/{l.MedianMs.ToString("F2", Inv)}/{l.P95Ms.ToString("F2", Inv)}"
                : "-"),
            new("ms/image", false, m => m.Latency is { } l ? l.MeanMsPerImage.ToString("F2", Inv) : "-"),
            new("Device/threads", false, m => m.Latency is { } l ? $"{l.Device}/{l.Threads}" : "-"),
            new("ONNX Runtime ms mean/med/p95", false, m => m.OnnxLatency is { } o
                ? $"{o.MeanMs.ToString("F2", Inv)}/{o.MedianMs.ToString("F2", Inv)}/{o.P95Ms.ToString("F2", Inv)}"
                : "-"),
            new("Act. peak MB", true, m => m.Memory is { } mem ? (mem.ActivationPeakBytes / 1e6).ToString("F2", Inv) : "-"),
            new("RSS growth MB", false, m => m.Memory is { } mem ? (mem.ResidentGrowthBytes / 1e6).ToString("F2", Inv) : "-"),
            new("Test loss", true, m => m.TestLoss is double v ? v.ToString("F4", Inv) : "-"),
            new("Test acc %", true, m => m.TestAccuracy is double a ? (100 * a).ToString("F2", Inv) : "-"),
        ];
    }

    /// <summary>The name of a convention as shown in headers.</summary>
    public static string Label(MacConvention convention) =>
        convention == MacConvention.Thop ? "thop" : "torchprofile";

    private static string Giga(long value) => (value / 1e9).ToString("F4", Inv);

    /// <summary>GitHub-flavoured Markdown.</summary>
    public string ToMarkdown()
    {
        var sb = new StringBuilder();
        sb.Append("| ").AppendJoin(" | ", Headers).Append(" |\n");
        sb.Append('|').AppendJoin('|', Headers.Select((_, i) => i == 0 ? " --- " : " ---: ")).Append("|\n");
        foreach (var row in Rows)
            sb.Append("| ").AppendJoin(" | ", row.Select(c => c.Replace("|", "\\|", StringComparison.Ordinal)))
                .Append(" |\n");
        return sb.ToString();
    }

    /// <summary>A Spectre.Console table for the terminal.</summary>
    public Table ToSpectre()
    {
        var table = new Table().Border(TableBorder.Rounded);
        for (int i = 0; i < Headers.Count; i++)
        {
            var column = new TableColumn(Markup.Escape(Headers[i]));
            table.AddColumn(i == 0 ? column.LeftAligned() : column.RightAligned());
        }
        foreach (var row in Rows)
            table.AddRow(row.Select(Markup.Escape).ToArray());
        return table;
    }
}
