using Harness.Model.Layers;
using static TorchSharp.torch;

namespace Harness.Pruning.Channels;

/// <summary>Squared L2 magnitude (Torch-Pruning's <c>MagnitudeImportance(p=2)</c>): w² and γ².</summary>
public sealed class L2Importance : MagnitudeImportance
{
    public override string Name => "L2";
    public override string Description => "sum of w² and γ²";
    protected override Tensor? NormScore(Tensor gamma) => gamma.pow(2);
    protected override Tensor? WeightScore(PrunableLayer layer, Tensor w, long start) => w.pow(2);
}
