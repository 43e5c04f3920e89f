namespace Harness.Model.Families;

/// <summary>
/// The widths and fixed hyper-parameters of one MBConv block. <see cref="Stage"/> is the index under
/// <c>features</c> (1–7 for B0) and <see cref="Index"/> the block's index inside its stage.
/// </summary>
public sealed record MBConvWidths(
    int Stage,
    int Index,
    int Kernel,
    int Stride,
    bool HasExpand,
    bool UseResidual,
    int In,
    int Expanded,
    int Squeeze,
    int Out,
    double StochasticDepthProb)
{
    /// <summary>State-dict prefix of the block, e.g. <c>features.2.1</c>.</summary>
    public string Prefix => $"features.{Stage}.{Index}";
}
