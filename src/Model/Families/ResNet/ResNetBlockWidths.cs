namespace Harness.Model.Families;

/// <summary>
/// The widths and stride of one ResNet block, <c>layer{Stage}.{Index}</c>: <see cref="In"/> channels in,
/// <see cref="Conv1Out"/> out of conv1, <see cref="Conv2Out"/> out of conv2 in a Bottleneck (null in a BasicBlock,
/// whose conv2 writes <see cref="Out"/>), <see cref="Out"/> out of the block's last conv. <see cref="Stride"/> is
/// that of the block's 3×3 conv (conv1 in a BasicBlock, conv2 in a Bottleneck, as torchvision v1.5) and of its
/// downsample. Without a downsample the residual adds the input itself, so stride 1 and <c>In == Out</c>.
/// </summary>
public sealed record ResNetBlockWidths(
    int Stage,
    int Index,
    int Stride,
    bool HasDownsample,
    int In,
    int Conv1Out,
    int? Conv2Out,
    int Out)
{
    /// <summary>State-dict prefix of the block, e.g. <c>layer2.0</c>; also the start of its space names.</summary>
    public string Prefix => $"layer{Stage}.{Index}";
}
