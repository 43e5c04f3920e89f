using Harness.Model.Layers;
using Harness.Model.Networks;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Harness.Model.Families;

/// <summary>
/// What torchvision's two ResNet blocks (<see cref="BasicBlock"/>, <see cref="Bottleneck"/>) share: their widths,
/// the optional <c>downsample</c> (<c>"0"</c> 1×1 conv with the block's stride, no bias; <c>"1"</c> BatchNorm2d, a
/// <see cref="ConvNormActivation"/> without activation) and the closing residual add and ReLU.
/// </summary>
public abstract class ResNetBlock : ExplicitModule, INormFolding
{
    protected ResNetBlock(string name, ResNetBlockWidths widths) : base(name)
    {
        Widths = widths;
        if (!widths.HasDownsample && (widths.Stride != 1 || widths.In != widths.Out))
            throw new ArgumentException(
                $"block {widths.Prefix}: without a downsample the residual needs stride 1 and equal input/output widths (got stride {widths.Stride}, {widths.In}→{widths.Out})");
    }

    public ResNetBlockWidths Widths { get; }

    /// <summary>True once the block's own BatchNorms are folded (the downsample folds its own).</summary>
    public abstract bool IsFolded { get; }

    public abstract void FoldNorms();

    /// <summary>The shortcut's 1×1 conv and BatchNorm; null when the block adds its input itself.</summary>
    public ConvNormActivation? Downsample { get; private set; }

    /// <summary>The block's ReLU (torchvision's one <c>relu</c> module, used after each BatchNorm but the last and
    /// after the add).</summary>
    protected ReLU Relu { get; } = nn.ReLU();

    /// <summary>Registers the downsample, where the widths have one; derived classes call it after their convs, so
    /// the module order is torchvision's.</summary>
    protected void AddDownsample()
    {
        if (Widths.HasDownsample)
            Downsample = Add("downsample", new ConvNormActivation(Widths.In, Widths.Out, 1, Widths.Stride, activation: ActivationKind.None));
    }

    /// <summary><c>relu(residual + shortcut(input))</c>.</summary>
    protected Tensor AddShortcut(Tensor residual, Tensor input) =>
        Relu.call(residual + (Downsample is null ? input : Downsample.call(input)));

    /// <summary>The block's eval-mode forward as graph nodes: the residual branch, the shortcut (the input, or the
    /// downsample conv), their sum, ReLU.</summary>
    public string WriteGraph(IForwardGraph g, string input)
    {
        string p = Widths.Prefix;
        string y = WriteBranch(g, input);
        string shortcut = Downsample is null ? input : g.ConvNormActivation($"{p}.downsample", Downsample, input);
        return g.Activation($"{p}.relu", ActivationKind.ReLU, g.Add(p, y, shortcut));
    }

    /// <summary>The residual branch as graph nodes (ReLU after each BatchNorm but the last).</summary>
    protected abstract string WriteBranch(IForwardGraph g, string input);
}
