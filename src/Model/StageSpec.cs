namespace Harness.Model;

/// <summary>One row of EfficientNet's stage table (torchvision's MBConvConfig before width/depth scaling).</summary>
public sealed record StageSpec(int ExpandRatio, int Kernel, int Stride, int InChannels, int OutChannels, int Repeats);
