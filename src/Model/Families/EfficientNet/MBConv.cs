using Harness.Model.Layers;
using Harness.Model.Networks;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Harness.Model.Families;

/// <summary>
/// torchvision's MBConv block: <c>block</c> = [expand (1×1 conv-BN-SiLU, only when expanding)], depthwise
/// (k×k conv-BN-SiLU), squeeze-excitation, project (1×1 conv-BN); then <c>stochastic_depth</c> and the residual
/// add when stride is 1 and input and output widths agree.
/// </summary>
public sealed class MBConv : ExplicitModule
{
    private readonly Sequential _block;

    public MBConv(MBConvWidths widths) : base(nameof(MBConv))
    {
        Widths = widths;
        var parts = new List<(string, nn.Module<Tensor, Tensor>)>();
        if (widths.HasExpand)
        {
            Expand = new ConvNormActivation(widths.In, widths.Expanded, 1);
            parts.Add(((parts.Count).ToString(), Expand));
        }
        else if (widths.In != widths.Expanded)
        {
            throw new ArgumentException(
                $"block {widths.Prefix}: without an expand conv the expanded width ({widths.Expanded}) must equal the input width ({widths.In})");
        }
        Depthwise = new ConvNormActivation(widths.Expanded, widths.Expanded, widths.Kernel, widths.Stride,
            groups: widths.Expanded);
        parts.Add((parts.Count.ToString(), Depthwise));
        Se = new SqueezeExcitation(widths.Expanded, widths.Squeeze);
        parts.Add((parts.Count.ToString(), Se));
        Project = new ConvNormActivation(widths.Expanded, widths.Out, 1, activation: ActivationKind.None);
        parts.Add((parts.Count.ToString(), Project));
        _block = Add("block", nn.Sequential(parts));
        StochasticDepth = Add("stochastic_depth", new StochasticDepth(widths.StochasticDepthProb));
        if (widths.UseResidual && (widths.Stride != 1 || widths.In != widths.Out))
            throw new ArgumentException(
                $"block {widths.Prefix}: a residual needs stride 1 and equal input/output widths (got stride {widths.Stride}, {widths.In}→{widths.Out})");
    }

    public MBConvWidths Widths { get; }
    public ConvNormActivation? Expand { get; }
    public ConvNormActivation Depthwise { get; }
    public SqueezeExcitation Se { get; }
    public ConvNormActivation Project { get; }
    public StochasticDepth StochasticDepth { get; }
    public bool UseResidual => Widths.UseResidual;

    /// <summary>The block's eval-mode forward as graph nodes (stochastic depth is the identity in eval).</summary>
    public string WriteGraph(IForwardGraph g, string prefix, string input)
    {
        string x = input;
        int part = 0;
        if (Expand is not null) x = g.ConvNormActivation($"{prefix}.block.{part++}", Expand, x);
        x = g.ConvNormActivation($"{prefix}.block.{part++}", Depthwise, x);
        x = Se.WriteGraph(g, $"{prefix}.block.{part++}", x);
        x = g.ConvNormActivation($"{prefix}.block.{part}", Project, x);
        return UseResidual ? g.Add(prefix, x, input) : x;
    }

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var result = _block.call(input);
        if (UseResidual)
        {
            result = StochasticDepth.call(result);
            result = result + input;
        }
        return result.MoveToOuterDisposeScope();
    }
}
