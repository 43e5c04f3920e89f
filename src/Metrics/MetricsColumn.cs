namespace Harness.Metrics;

/// <summary>One column of the metrics table: header, whether its values are reproducible run to run, and how to
/// format a model's value.</summary>
public sealed record MetricsColumn(string Header, bool Deterministic, Func<ModelMetrics, string> Value);
