using Harness.Model.Layers;
using static TorchSharp.torch;

namespace Harness.Pruning.FineGrained;

/// <summary>First-order Taylor importance |w · ∂L/∂w| per weight (Molchanov et al. 2019); the gradients of calibration
/// batches must be on the weights (<c>Harness.Training.TaylorCalibration</c>).</summary>
public sealed class TaylorMethod : IFineGrainedMethod
{
    public string Name => "Taylor";
    public string Description => "per weight |w·∂L/∂w| from --data's calibration batches";
    public bool NeedsGradients => true;

    public Tensor Saliency(PrunableLayer layer, Tensor weight)
    {
        var g = layer.Weight.grad ?? throw new ArgumentException(
            "--method Taylor needs gradients of the model: pass --data (and --calibration-batches) so that calibration batches run forward and backward first");
        return weight * g.detach();
    }

    public Tensor Rank(Tensor magnitudes, Generator generator) => magnitudes.alias();
}
