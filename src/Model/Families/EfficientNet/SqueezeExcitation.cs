using Harness.Model.Layers;
using Harness.Model.Networks;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Harness.Model.Families;

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

    /// <summary>The excitation as graph nodes: pool, fc1, SiLU, fc2, sigmoid, the scaling Mul.</summary>
    public string WriteGraph(IForwardGraph g, string prefix, string input)
    {
        string s = g.GlobalAveragePool($"{prefix}.avgpool", input);
        s = g.Conv($"{prefix}.fc1", Fc1, s);
        s = g.Activation($"{prefix}.activation", ActivationKind.SiLU, s);
        s = g.Conv($"{prefix}.fc2", Fc2, s);
        s = g.Sigmoid($"{prefix}.scale_activation", s);
        return g.Mul(prefix, input, s);
    }

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var scale = ScaleActivation.call(Fc2.call(Activation.call(Fc1.call(AvgPool.call(input)))));
        return (scale * input).MoveToOuterDisposeScope();
    }
}
