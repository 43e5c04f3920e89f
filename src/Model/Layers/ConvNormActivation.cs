using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Harness.Model.Layers;

/// <summary>torchvision's Conv2dNormActivation: "0" conv (no bias, padding (k − 1) / 2), "1" BatchNorm2d, "2" the
/// activation (<see cref="ActivationKind"/>: SiLU by default, as EfficientNet; ReLU or ReLU6; none registers no "2").
/// Once folded for inference (<see cref="FoldNorms"/>), "0" is a conv with bias and "1" an identity.</summary>
public sealed class ConvNormActivation : ExplicitModule, INormFolding
{
    public ConvNormActivation(long inChannels, long outChannels, long kernelSize, long stride = 1, long groups = 1,
        ActivationKind activation = ActivationKind.SiLU) : base(nameof(ConvNormActivation))
    {
        Conv = Add("0", new PrunableConv2d(inChannels, outChannels, kernelSize, stride, (kernelSize - 1) / 2, groups,
            bias: false));
        Norm = Add("1", TorchvisionNorm.Create(outChannels));
        ActivationKind = activation;
        Activation = activation switch
        {
            ActivationKind.None => null,
            ActivationKind.SiLU => Add<nn.Module<Tensor, Tensor>>("2", nn.SiLU()),
            ActivationKind.ReLU => Add<nn.Module<Tensor, Tensor>>("2", nn.ReLU()),
            ActivationKind.ReLU6 => Add<nn.Module<Tensor, Tensor>>("2", nn.ReLU6()),
            _ => throw new ArgumentOutOfRangeException(nameof(activation), activation, null),
        };
    }

    public PrunableConv2d Conv { get; }

    /// <summary>The BatchNorm; null once folded into the conv.</summary>
    public BatchNorm2d? Norm { get; private set; }

    /// <summary>The activation module ("2"); null for <see cref="ActivationKind.None"/>.</summary>
    public nn.Module<Tensor, Tensor>? Activation { get; }

    public ActivationKind ActivationKind { get; }

    /// <summary>True once the BatchNorm has been folded into the conv (inference only).</summary>
    public bool IsFolded => Norm is null;

    /// <summary>Replaces conv + BatchNorm by one conv with the folded weight and bias (see
    /// <see cref="BatchNormFolding"/>); "1" becomes an identity, so the module tree and the names of the other
    /// children stay those of torchvision. The layer then runs in eval mode only.</summary>
    public void FoldNorms() => Norm = FoldChildNorm(Conv, Norm, "1");

    public override Tensor forward(Tensor input)
    {
        RequireEvalWhenFolded(IsFolded);
        using var scope = NewDisposeScope();
        var x = NormOrIdentity(Norm, Conv.call(input));
        if (Activation is not null) x = Activation.call(x);
        return x.MoveToOuterDisposeScope();
    }
}
