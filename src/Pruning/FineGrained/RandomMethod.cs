using Harness.Model.Layers;
using static TorchSharp.torch;

namespace Harness.Pruning.FineGrained;

/// <summary>Random units (torch.nn.utils.prune's <c>random_unstructured</c>), seeded: the study's baseline.</summary>
public sealed class RandomMethod : IFineGrainedMethod
{
    public string Name => "Random";
    public string Description => "seeded uniform draws, the baseline";
    public bool NeedsGradients => false;
    public Tensor Saliency(PrunableLayer layer, Tensor weight) => weight.alias();
    public Tensor Rank(Tensor magnitudes, Generator generator) => rand(magnitudes.shape, dtype: float64, generator: generator);
}
