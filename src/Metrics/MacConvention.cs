namespace Harness.Metrics;

/// <summary>Which tool's rules decide how many multiply-accumulates a layer costs.</summary>
/// <remarks>
/// <see cref="Thop"/> follows thop (pytorch-OpCounter) 0.1.1, commit 43c064a: convolutions count
/// output elements × (in channels / groups) × kernel area with the bias ignored, Linear counts in × out per row,
/// an affine BatchNorm counts 4 × elements (thop's <c>calculate_norm</c> gives 2 × elements, doubled when affine),
/// an adaptive average pool counts (kernel area + 1) × output elements, and activations, dropout, stochastic
/// depth, residual additions and the squeeze-excitation scale count zero (thop registers no counter for them).
/// <see cref="TorchProfile"/> follows torchprofile 0.1.0 (<c>torchprofile/handlers.py</c>): convolutions and
/// Linear as above, an affine BatchNorm counts its output elements, an adaptive average pool counts its output
/// elements, the squeeze-excitation scale (<c>aten::mul</c>) counts its output elements, additions and
/// activations count zero.
/// </remarks>
public enum MacConvention
{
    Thop,
    TorchProfile,
}
