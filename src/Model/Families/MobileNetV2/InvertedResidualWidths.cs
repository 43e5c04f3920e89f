namespace Harness.Model.Families;

/// <summary>
/// The widths and stride of one MobileNetV2 inverted-residual block, <c>features.{Index}</c> (1–17 in torchvision's
/// network): <see cref="In"/> channels in, <see cref="Expanded"/> after the 1×1 expand conv (equal to
/// <see cref="In"/> when the expand ratio is 1 and there is no expand conv), the 3×3 depthwise conv with
/// <see cref="Stride"/> on those, <see cref="Out"/> after the 1×1 project conv. <see cref="UseResidual"/>: the
/// input is added to the output (torchvision: stride 1 and equal input and output widths).
/// </summary>
public sealed record InvertedResidualWidths(
    int Index,
    int Stride,
    bool HasExpand,
    bool UseResidual,
    int In,
    int Expanded,
    int Out)
{
    /// <summary>State-dict prefix of the block, e.g. <c>features.3</c>.</summary>
    public string Prefix => $"features.{Index}";
}
