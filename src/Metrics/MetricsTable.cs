using Spectre.Console;
using System.Globalization;
using System.Text;

namespace Harness.Metrics;

/// <summary>The metrics of several models as a table: header row plus one row per model, rendered as Markdown,
/// as a Spectre.Console table, or as rows for the table image.</summary>
public sealed class MetricsTable
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public IReadOnlyList<string> Headers { get; }
    public IReadOnlyList<IReadOnlyList<string>> Rows { get; }

    /// <summary>What the figures were measured on: input size, latency batch, runs, warm-up, threads and device (the
    /// line the table image prints under its title).</summary>
    public string Caption { get; }

    private MetricsTable(IReadOnlyList<string> headers, IReadOnlyList<IReadOnlyList<string>> rows, string caption)
    {
        Headers = headers;
        Rows = rows;
        Caption = caption;
    }

    /// <summary>The table of <paramref name="models"/>; <paramref name="convention"/> picks which MACs come first
    /// (both are shown); <paramref name="deterministicOnly"/> keeps only columns that do not vary run to run
    /// (no timing, no resident memory).</summary>
    public static MetricsTable Build(IReadOnlyList<ModelMetrics> models, MacConvention convention = MacConvention.Thop,
        bool deterministicOnly = false)
    {
        var unit = UnitFor(models.Select(m => Math.Max(m.Macs(MacConvention.Thop), m.Macs(MacConvention.TorchProfile))).DefaultIfEmpty(0).Max());
        var context = Context(convention, unit);
        var cells = MetricColumns.Table.Select(c => c.Table!).Where(c => !deterministicOnly || c.Deterministic)
            .Where(c => !c.Optional || models.Any(m => c.Text(m, context) != "-")).ToList();
        var rows = models.Select(m => (IReadOnlyList<string>)cells.Select(c => c.Text(m, context)).ToList()).ToList();
        return new MetricsTable(cells.Select(c => c.Header(context)).ToList(), rows, CaptionOf(models, convention, deterministicOnly));
    }

    /// <summary>The same figures as metric/value rows (the study paper's per-model table): one row per metric, one
    /// column per model, so one model reads top to bottom instead of as an 18-column row.</summary>
    public MetricsTable ByMetric()
    {
        var headers = new List<string> { "Metric" };
        headers.AddRange(Rows.Select(r => r[0]));
        var rows = Enumerable.Range(1, Headers.Count - 1)
            .Select(i => (IReadOnlyList<string>)new[] { Headers[i] }.Concat(Rows.Select(r => r[i])).ToList())
            .ToList();
        return new MetricsTable(Rows.Count == 1 ? ["Metric", "Value"] : headers, rows, Caption);
    }

    /// <summary>The unit prefix and divisor that put the largest count at or above 1: G, M or K.</summary>
    public static (string Prefix, double Divisor) UnitFor(double largest) =>
        largest >= 1e9 ? ("G", 1e9) : largest >= 1e6 ? ("M", 1e6) : ("K", 1e3);

    private static string CaptionOf(IReadOnlyList<ModelMetrics> models, MacConvention convention, bool deterministicOnly)
    {
        var parts = new List<string>();
        var sizes = models.Select(m => m.ImageSize).Distinct().ToList();
        if (sizes.Count > 0) parts.Add($"input {string.Join("/", sizes.Select(s => $"{s}×{s}"))}");
        parts.Add($"MACs: {Label(convention)} rules first");
        if (!deterministicOnly)
        {
            var timed = models.Select(m => m.Latency).OfType<LatencyStats>().Select(l => $"batch {l.BatchSize}, {l.Runs} runs after {l.Warmup} warm-up, {l.Threads} threads, {l.Device}").Distinct().ToList();
            parts.Add(timed.Count == 0 ? "latency not measured" : $"latency: {string.Join("; ", timed)}");
        }
        return string.Join(" · ", parts);
    }

    /// <summary>The table context of a convention and a MAC unit (G by default).</summary>
    public static MetricTableContext Context(MacConvention convention, (string Prefix, double Divisor)? unit = null)
    {
        var (prefix, divisor) = unit ?? ("G", 1e9);
        var other = convention == MacConvention.Thop ? MacConvention.TorchProfile : MacConvention.Thop;
        return new MetricTableContext(convention, other, prefix, divisor);
    }

    /// <summary>The name of a convention as shown in headers.</summary>
    public static string Label(MacConvention convention) =>
        convention == MacConvention.Thop ? "thop" : "torchprofile";

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

    /// <summary>One model as metric/value rows (the paper's per-model figure) for the terminal; several models as
    /// <see cref="ToSpectre"/>.</summary>
    public Table ToSpectreForTerminal()
    {
        if (Rows.Count != 1) return ToSpectre();
        var table = new Table().Border(TableBorder.Rounded);
        table.AddColumn(new TableColumn("metric").LeftAligned());
        table.AddColumn(new TableColumn("value").RightAligned());
        for (int i = 0; i < Headers.Count; i++)
            table.AddRow(Markup.Escape(Headers[i]), Markup.Escape(Rows[0][i]));
        return table;
    }
}
