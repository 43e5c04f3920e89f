namespace Harness.Pruning.FineGrained;

/// <summary>Global: one ranking across all chosen tensors (<c>prune.global_unstructured</c>); Layer: each tensor
/// on its own.</summary>
public enum PruningScope { Global, Layer }
