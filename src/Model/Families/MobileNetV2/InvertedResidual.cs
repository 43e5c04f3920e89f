using Harness.Model.Layers;
using Harness.Model.Networks;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Harness.Model.Families;

/// <summary>
/// torchvision's MobileNetV2 InvertedResidual: <c>conv</c> = [expand (1×1 conv-BN-ReLU6, only when the expand ratio
/// is not 1)], depthwise (3×3 conv-BN-ReLU6 with the block's stride), project (1×1 conv, no bias), BatchNorm2d; the
/// input is added when <see cref="InvertedResidualWidths.UseResidual"/>.
/// </summary>
public sealed class InvertedResidual : ExplicitModule, INormFolding
{
    private readonly ModuleSequence _conv;

    public InvertedResidual(InvertedResidualWidths widths) : base(nameof(InvertedResidual))
    {
        Widths = widths;
        if (!widths.HasExpand && widths.In != widths.Expanded)
            throw new ArgumentException(
                $"block {widths.Prefix}: without an expand conv the expanded width ({widths.Expanded}) must equal the input width ({widths.In})");
        if (widths.UseResidual && (widths.Stride != 1 || widths.In != widths.Out))
            throw new ArgumentException(
                $"block {widths.Prefix}: a residual needs stride 1 and equal input/output widths (got stride {widths.Stride}, {widths.In}→{widths.Out})");
        var parts = new List<nn.Module<Tensor, Tensor>>();
        if (widths.HasExpand)
        {
            Expand = new ConvNormActivation(widths.In, widths.Expanded, 1, activation: ActivationKind.ReLU6);
            parts.Add(Expand);
        }
        Depthwise = new ConvNormActivation(widths.Expanded, widths.Expanded, 3, widths.Stride, groups: widths.Expanded,
            activation: ActivationKind.ReLU6);
        Project = new PrunableConv2d(widths.Expanded, widths.Out, 1, bias: false);
        ProjectNorm = TorchvisionNorm.Create(widths.Out);
        parts.AddRange([Depthwise, Project, ProjectNorm]);
        _conv = Add("conv", new ModuleSequence(parts));
    }

    public InvertedResidualWidths Widths { get; }
    public ConvNormActivation? Expand { get; }
    public ConvNormActivation Depthwise { get; }
    public PrunableConv2d Project { get; }
    /// <summary>The projection's BatchNorm (<c>conv.3</c>, or <c>conv.2</c> without expand); null once folded.</summary>
    public BatchNorm2d? ProjectNorm { get; private set; }

    public bool IsFolded => ProjectNorm is null;

    /// <summary>Folds the projection's BatchNorm (the expand and depthwise ConvNormActivations fold their own).</summary>
    public void FoldNorms() =>
        ProjectNorm = FoldNormInto(Project, ProjectNorm, identity => _conv.Replace(Expand is null ? 2 : 3, identity));
    public bool UseResidual => Widths.UseResidual;

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        RequireEvalWhenFolded(IsFolded);
        var result = _conv.call(input);
        if (UseResidual) result = input + result;
        return result.MoveToOuterDisposeScope();
    }

    /// <summary>The block's eval-mode forward as graph nodes: expand, depthwise, the linear projection, the add where
    /// the block has one. <paramref name="prefix"/> is the block's module name (<c>features.N</c>).</summary>
    public string WriteGraph(IForwardGraph g, string prefix, string input)
    {
        string p = $"{prefix}.conv", y = input;
        int part = 0;
        if (Expand is not null) y = g.ConvNormActivation($"{p}.{part++}", Expand, y);
        y = g.ConvNormActivation($"{p}.{part++}", Depthwise, y);
        y = g.ConvNorm($"{p}.{part}", Project, $"{p}.{part + 1}", ProjectNorm, y);
        return UseResidual ? g.Add(prefix, y, input) : y;
    }
}
