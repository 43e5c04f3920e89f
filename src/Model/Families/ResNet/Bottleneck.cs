using Harness.Model.Layers;
using Harness.Model.Networks;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Harness.Model.Families;

/// <summary>torchvision's ResNet Bottleneck (v1.5, the stride on the 3×3 conv): <c>conv1</c> (1×1), <c>bn1</c>,
/// <c>conv2</c> (3×3, the block's stride), <c>bn2</c>, <c>conv3</c> (1×1), <c>bn3</c>, <c>relu</c>,
/// [<c>downsample</c>]; ReLU after bn1 and bn2, and after the residual add.</summary>
public sealed class Bottleneck : ResNetBlock
{
    public Bottleneck(ResNetBlockWidths widths) : base(nameof(Bottleneck), widths)
    {
        int conv2Out = widths.Conv2Out
                       ?? throw new ArgumentException($"block {widths.Prefix}: a Bottleneck needs Conv2Out (conv2 → conv3)");
        Conv1 = Add("conv1", new PrunableConv2d(widths.In, widths.Conv1Out, 1, bias: false));
        Bn1 = Add("bn1", TorchvisionNorm.Create(widths.Conv1Out));
        Conv2 = Add("conv2", new PrunableConv2d(widths.Conv1Out, conv2Out, 3, widths.Stride, 1, bias: false));
        Bn2 = Add("bn2", TorchvisionNorm.Create(conv2Out));
        Conv3 = Add("conv3", new PrunableConv2d(conv2Out, widths.Out, 1, bias: false));
        Bn3 = Add("bn3", TorchvisionNorm.Create(widths.Out));
        Add("relu", Relu);
        AddDownsample();
    }

    public PrunableConv2d Conv1 { get; }
    /// <summary><c>bn1</c>–<c>bn3</c>; null once folded into their convs.</summary>
    public BatchNorm2d? Bn1 { get; private set; }
    public PrunableConv2d Conv2 { get; }
    public BatchNorm2d? Bn2 { get; private set; }
    public PrunableConv2d Conv3 { get; }
    public BatchNorm2d? Bn3 { get; private set; }

    public override bool IsFolded => Bn1 is null;

    public override void FoldNorms()
    {
        Bn1 = FoldChildNorm(Conv1, Bn1, "bn1");
        Bn2 = FoldChildNorm(Conv2, Bn2, "bn2");
        Bn3 = FoldChildNorm(Conv3, Bn3, "bn3");
    }

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        RequireEvalWhenFolded(IsFolded);
        var x = Relu.call(NormOrIdentity(Bn1, Conv1.call(input)));
        x = Relu.call(NormOrIdentity(Bn2, Conv2.call(x)));
        x = NormOrIdentity(Bn3, Conv3.call(x));
        return AddShortcut(x, input).MoveToOuterDisposeScope();
    }

    protected override string WriteBranch(IForwardGraph g, string input)
    {
        string p = Widths.Prefix;
        string y = g.Activation($"{p}.relu1", ActivationKind.ReLU, g.ConvNorm($"{p}.conv1", Conv1, $"{p}.bn1", Bn1, input));
        y = g.Activation($"{p}.relu2", ActivationKind.ReLU, g.ConvNorm($"{p}.conv2", Conv2, $"{p}.bn2", Bn2, y));
        return g.ConvNorm($"{p}.conv3", Conv3, $"{p}.bn3", Bn3, y);
    }
}
