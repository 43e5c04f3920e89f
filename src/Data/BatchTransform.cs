using static TorchSharp.torch;

namespace Harness.Data;

/// <summary>
/// The study's transforms, applied to a whole uint8 batch on the compute device: scale to [0, 1], optional random
/// horizontal flip (train only), bilinear resize to <see cref="ImageSize"/> (align_corners false, as torchvision's
/// Resize on tensors; no antialiasing is needed when upsampling CIFAR's 32×32), normalise with ImageNet mean/std.
/// </summary>
public sealed record BatchTransform
{
    public int ImageSize { get; init; } = 224;
    public bool Train { get; init; }
    public double[] Mean { get; init; } = [0.485, 0.456, 0.406];
    public double[] Std { get; init; } = [0.229, 0.224, 0.225];
    /// <summary>The floating type of the result (float32; float64 for numerical checks of a float64 model).</summary>
    public ScalarType Precision { get; init; } = ScalarType.Float32;

    /// <summary>Transforms <paramref name="images"/> (uint8 [B,3,H,W] on the device). <paramref name="flip"/> says
    /// per image whether to flip (null: no flips).</summary>
    public Tensor Apply(Tensor images, bool[]? flip)
    {
        using var scope = NewDisposeScope();
        var x = images.to(Precision).div_(255.0);
        if (flip is not null && flip.Any(f => f))
        {
            var mask = tensor(flip, device: x.device).view(-1, 1, 1, 1);
            x = where(mask, x.flip(3), x);
        }
        if (x.shape[2] != ImageSize || x.shape[3] != ImageSize)
            x = nn.functional.interpolate(x, new long[] { ImageSize, ImageSize }, mode: InterpolationMode.Bilinear, align_corners: false);
        var mean = tensor(Mean, dtype: Precision, device: x.device).view(1, 3, 1, 1);
        var std = tensor(Std, dtype: Precision, device: x.device).view(1, 3, 1, 1);
        // In the layout the network runs in (channels-last on the CPU by default), so its forward need not copy it.
        return Harness.Runtime.MemoryLayout.Prepare((x - mean) / std).MoveToOuterDisposeScope();
    }
}
