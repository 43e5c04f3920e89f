using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Harness.Model.Layers;

/// <summary>torchvision's Conv2dNormActivation: "0" conv (no bias), "1" BatchNorm2d, "2" SiLU (optional).</summary>
public sealed class ConvNormActivation : ExplicitModule
{
    public ConvNormActivation(long inChannels, long outChannels, long kernelSize, long stride = 1, long groups = 1,
        bool activation = true) : base(nameof(ConvNormActivation))
    {
        Conv = Add("0", new PrunableConv2d(inChannels, outChannels, kernelSize, stride, (kernelSize - 1) / 2, groups,
            bias: false));
        Norm = Add("1", nn.BatchNorm2d(outChannels, eps: 1e-5, momentum: 0.1));
        using (no_grad())
        {
            Norm.weight!.fill_(1.0);
            Norm.bias!.zero_();
        }
        if (activation) Activation = Add("2", nn.SiLU());
    }

    public PrunableConv2d Conv { get; }
    public BatchNorm2d Norm { get; }
    public SiLU? Activation { get; }

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = Norm.call(Conv.call(input));
        if (Activation is not null) x = Activation.call(x);
        return x.MoveToOuterDisposeScope();
    }
}
