using static TorchSharp.torch;

namespace Harness.Model.Layers;

/// <summary>A 2-D convolution (square kernel, zero padding) whose weight can be masked; state-dict names as
/// <c>torch.nn.Conv2d</c>.</summary>
public sealed class PrunableConv2d : PrunableLayer
{
    public PrunableConv2d(long inChannels, long outChannels, long kernelSize, long stride = 1, long padding = 0,
        long groups = 1, bool bias = true)
        : base(nameof(PrunableConv2d), empty(outChannels, inChannels / groups, kernelSize, kernelSize),
            bias ? zeros(outChannels) : null)
    {
        if (inChannels % groups != 0 || outChannels % groups != 0)
            throw new ArgumentException(
                $"channels in={inChannels} out={outChannels} must both be divisible by groups={groups}");
        InChannels = inChannels;
        OutChannels = outChannels;
        KernelSize = kernelSize;
        Stride = stride;
        Padding = padding;
        Groups = groups;
        // torchvision's conv init (EfficientNet, ResNet, MobileNetV2): kaiming normal, fan_out, gain √2; zero bias.
        using (no_grad())
            nn.init.kaiming_normal_(Weight, mode: nn.init.FanInOut.FanOut);
    }

    public long InChannels { get; }
    public long OutChannels { get; }
    public long KernelSize { get; }
    public long Stride { get; }
    public long Padding { get; }
    public long Groups { get; }

    public override Tensor forward(Tensor input)
    {
        if (!IsMasked) return Convolve(input, Weight);
        using var w = EffectiveWeight();
        return Convolve(input, w);
    }

    private Tensor Convolve(Tensor input, Tensor weight) =>
        nn.functional.conv2d(input, weight, Bias, new[] { Stride, Stride }, new[] { Padding, Padding },
            new long[] { 1, 1 }, Groups);
}
