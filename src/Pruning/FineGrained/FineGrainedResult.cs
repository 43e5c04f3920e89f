namespace Harness.Pruning.FineGrained;

/// <summary>What a pruning step did: the sparsity afterwards and the layers an N:M pattern could not apply to.</summary>
public sealed record FineGrainedResult(SparsityReport Report, IReadOnlyList<string> SkippedLayers);
