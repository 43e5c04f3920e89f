namespace Harness.Pruning.Channels;

/// <summary>What pruning did to one group.</summary>
public sealed record GroupReport(int Id, string Kind, IReadOnlyList<string> Layers, int Before, int After, IReadOnlyList<int> Removed);
