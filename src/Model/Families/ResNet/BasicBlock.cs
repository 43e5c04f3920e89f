using Harness.Model.Layers;
using Harness.Model.Networks;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Harness.Model.Families;

/// <summary>torchvision's ResNet BasicBlock: <c>conv1</c> (3×3, the block's stride), <c>bn1</c>, <c>relu</c>,
/// <c>conv2</c> (3×3), <c>bn2</c>, [<c>downsample</c>]; out = relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)).</summary>
public sealed class BasicBlock : ResNetBlock
{
    public BasicBlock(ResNetBlockWidths widths) : base(nameof(BasicBlock), widths)
    {
        if (widths.Conv2Out is not null)
            throw new ArgumentException($"block {widths.Prefix}: a BasicBlock has no Conv2Out (its conv2 writes Out)");
        Conv1 = Add("conv1", new PrunableConv2d(widths.In, widths.Conv1Out, 3, widths.Stride, 1, bias: false));
        Bn1 = Add("bn1", TorchvisionNorm.Create(widths.Conv1Out));
        Add("relu", Relu);
        Conv2 = Add("conv2", new PrunableConv2d(widths.Conv1Out, widths.Out, 3, 1, 1, bias: false));
        Bn2 = Add("bn2", TorchvisionNorm.Create(widths.Out));
        AddDownsample();
    }

    public PrunableConv2d Conv1 { get; }
    /// <summary><c>bn1</c>; null once folded into conv1.</summary>
    public BatchNorm2d? Bn1 { get; private set; }
    public PrunableConv2d Conv2 { get; }
    /// <summary><c>bn2</c>; null once folded into conv2.</summary>
    public BatchNorm2d? Bn2 { get; private set; }

    public override bool IsFolded => Bn1 is null;

    public override void FoldNorms()
    {
        Bn1 = FoldChildNorm(Conv1, Bn1, "bn1");
        Bn2 = FoldChildNorm(Conv2, Bn2, "bn2");
    }

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        RequireEvalWhenFolded(IsFolded);
        var x = Relu.call(NormOrIdentity(Bn1, Conv1.call(input)));
        x = NormOrIdentity(Bn2, Conv2.call(x));
        return AddShortcut(x, input).MoveToOuterDisposeScope();
    }

    protected override string WriteBranch(IForwardGraph g, string input)
    {
        string p = Widths.Prefix;
        string y = g.Activation($"{p}.relu1", ActivationKind.ReLU, g.ConvNorm($"{p}.conv1", Conv1, $"{p}.bn1", Bn1, input));
        return g.ConvNorm($"{p}.conv2", Conv2, $"{p}.bn2", Bn2, y);
    }
}
