using Harness.Model.Channels;

namespace Harness.Pruning.Channels;

/// <summary>What pruning did to one group.</summary>
public sealed record GroupReport(int Id, SpaceKind Kind, IReadOnlyList<string> Layers, int Before, int After, IReadOnlyList<int> Removed);
