namespace Harness.Pruning.FineGrained;

/// <summary>How units are ranked: by L1 magnitude (smallest pruned first) or at random (seeded).</summary>
public enum PruningMethod { L1, Random }
