namespace Harness.Model.Families;

/// <summary>One row of EfficientNet's stage table (torchvision's MBConvConfig before width/depth scaling).</summary>
public sealed record EfficientNetStage(int ExpandRatio, int Kernel, int Stride, int InChannels, int OutChannels, int Repeats);
