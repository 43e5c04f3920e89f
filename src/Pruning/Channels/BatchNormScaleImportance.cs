using Harness.Model.Layers;
using static TorchSharp.torch;

namespace Harness.Pruning.Channels;

/// <summary>BatchNorm scale |γ| alone (network slimming, Liu et al. 2017; Torch-Pruning's <c>BNScaleImportance</c>).</summary>
public sealed class BatchNormScaleImportance : MagnitudeImportance
{
    public override string Name => "BatchNormScale";
    public override string Description => "|γ| of the BatchNorms, network slimming's";
    protected override Tensor? NormScore(Tensor gamma) => gamma.abs();
    protected override Tensor? WeightScore(PrunableLayer layer, Tensor w, long start) => null;
}
