using Harness.Model.Layers;
using static TorchSharp.torch;

namespace Harness.Pruning.Channels;

/// <summary>L1 magnitude (the study's criterion; Torch-Pruning's <c>MagnitudeImportance(p=1)</c>): |w| of every
/// conv/linear member and |γ| of every BatchNorm.</summary>
public sealed class L1Importance : MagnitudeImportance
{
    public override string Name => "L1";
    public override string Description => "sum of |w| and |γ|, the study's";
    protected override Tensor? NormScore(Tensor gamma) => gamma.abs();
    protected override Tensor? WeightScore(PrunableLayer layer, Tensor w, long start) => w.abs();
}
