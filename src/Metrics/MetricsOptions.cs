namespace Harness.Metrics;

/// <summary>How to measure a model.</summary>
/// <param name="ImageSize">Input side for MACs, timings and memory.</param>
/// <param name="BatchSize">Images per timed pass and per memory pass (the MAC count uses 1).</param>
/// <param name="Runs">Timed passes; 0 skips timing and the resident-memory measurement.</param>
/// <param name="Warmup">Untimed passes before the timed ones.</param>
public sealed record MetricsOptions(int ImageSize = 224, int BatchSize = 1, int Runs = 100, int Warmup = 10);
