namespace Harness.Model.Families;

/// <summary>torchvision's two ResNet blocks: <see cref="Basic"/> (two 3×3 convs, ResNet-18/34) and
/// <see cref="Bottleneck"/> (1×1, 3×3 with the stride, 1×1 expanding by 4; ResNet-50/101/152).</summary>
public enum ResNetBlockKind { Basic, Bottleneck }
