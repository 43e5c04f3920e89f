namespace Harness.Metrics;

/// <summary>
/// One measurement of <see cref="ModelMetrics"/> as every output shows it: its snake_case name (the CSV header and
/// the name a reader looks it up by), its unit, its CSV cell (null: not in the CSV) and its table cell (null: not
/// in the tables). The JSON member is the <see cref="ModelMetrics"/> property the cells read. Listed once, in
/// <see cref="MetricColumns.All"/>, whose order is both the CSV's and the table's.
/// </summary>
/// <param name="Key">snake_case name and CSV header (<c>test_accuracy</c>).</param>
/// <param name="Unit">What the CSV value counts (<c>bytes</c>, <c>ms</c>, <c>fraction</c>…).</param>
/// <param name="Csv">The CSV value at full precision (null when absent), or null when the column has no CSV cell.</param>
/// <param name="Table">The table cell, or null when the column is not in the tables.</param>
public sealed record MetricColumn(string Key, string Unit, Func<ModelMetrics, object?>? Csv, MetricTableCell? Table = null);

/// <summary>How a column appears in the tables (Markdown, terminal, image): a header (which may name the MAC unit and
/// convention of the table), whether its values repeat run to run (snapshot tests keep only those), and the
/// rounded text of a model's value. An <see cref="Optional"/> column is left out of a table where no model has a
/// value (the int8 figures of a study that did not quantize).</summary>
public sealed record MetricTableCell(Func<MetricTableContext, string> Header, bool Deterministic, Func<ModelMetrics, MetricTableContext, string> Text)
{
    public bool Optional { get; init; }
}

/// <summary>What a table's cells are written in: the MAC convention shown first, the other one, and the unit of the
/// MAC and FLOP counts (prefix G, M or K and its divisor).</summary>
public sealed record MetricTableContext(MacConvention Convention, MacConvention Other, string Prefix, double Divisor);
