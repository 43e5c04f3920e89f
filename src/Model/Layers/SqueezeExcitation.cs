using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Harness.Model.Layers;

/// <summary>torchvision's SqueezeExcitation: avgpool, fc1 (1×1 conv), SiLU, fc2 (1×1 conv), sigmoid; the
/// input is multiplied by the resulting per-channel scale.</summary>
public sealed class SqueezeExcitation : ExplicitModule
{
    public SqueezeExcitation(long channels, long squeezeChannels) : base(nameof(SqueezeExcitation))
    {
        AvgPool = Add("avgpool", nn.AdaptiveAvgPool2d(1));
        Fc1 = Add("fc1", new PrunableConv2d(channels, squeezeChannels, 1));
        Fc2 = Add("fc2", new PrunableConv2d(squeezeChannels, channels, 1));
        Activation = Add("activation", nn.SiLU());
        ScaleActivation = Add("scale_activation", nn.Sigmoid());
    }

    public AdaptiveAvgPool2d AvgPool { get; }
    public PrunableConv2d Fc1 { get; }
    public PrunableConv2d Fc2 { get; }
    public SiLU Activation { get; }
    public Sigmoid ScaleActivation { get; }

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var scale = ScaleActivation.call(Fc2.call(Activation.call(Fc1.call(AvgPool.call(input)))));
        return (scale * input).MoveToOuterDisposeScope();
    }
}
