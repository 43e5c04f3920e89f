using Harness.Model.Layers;
using static TorchSharp.torch;

namespace Harness.Pruning.Channels;

/// <summary>First-order Taylor |w·∂L/∂w| (Molchanov et al. 2019; Torch-Pruning 1.6.1's GroupTaylorImportance: conv
/// and linear slices only — its Taylor branch matches GroupNorm, not BatchNorm). The loss gradients of calibration
/// batches must be on the weights.</summary>
public sealed class TaylorImportance : MagnitudeImportance
{
    public override string Name => "Taylor";
    public override string Description => "first-order |w·∂L/∂w| from --data's calibration batches, as Torch-Pruning's GroupTaylorImportance";
    public override bool NeedsGradients => true;
    protected override Tensor? NormScore(Tensor gamma) => null;

    protected override Tensor? WeightScore(PrunableLayer layer, Tensor w, long start)
    {
        var g = layer.Weight.grad ?? throw new ArgumentException(
            "--importance Taylor needs gradients of the model: pass --data (and --calibration-batches) so that calibration batches run forward and backward first");
        return (w * (w.shape[0] == g.shape[0] ? g : g.narrow(0, start, w.shape[0]))).abs();
    }
}
