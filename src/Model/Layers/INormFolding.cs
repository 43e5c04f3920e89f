namespace Harness.Model.Layers;

/// <summary>A module that owns conv → BatchNorm pairs of its own (children, not grandchildren) and folds them for
/// inference: each conv takes the folded weight and a bias (<see cref="BatchNormFolding.FoldedTensors"/>), each
/// BatchNorm's name then holds an identity, and the module runs in eval mode only. <see cref="BatchNormFolding.Fold"/>
/// calls it on every such module of a network.</summary>
public interface INormFolding
{
    /// <summary>True once this module's BatchNorms are folded.</summary>
    bool IsFolded { get; }

    /// <summary>Folds this module's own conv → BatchNorm pairs (their running statistics; eval mode).</summary>
    void FoldNorms();
}
