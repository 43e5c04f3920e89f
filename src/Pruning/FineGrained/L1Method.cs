using Harness.Model.Layers;
using static TorchSharp.torch;

namespace Harness.Pruning.FineGrained;

/// <summary>L1 magnitude: the smallest |w| first (torch.nn.utils.prune's <c>l1_unstructured</c>, the study's).</summary>
public sealed class L1Method : IFineGrainedMethod
{
    public string Name => "L1";
    public string Description => "smallest |w| first, the study's";
    public bool NeedsGradients => false;
    public Tensor Saliency(PrunableLayer layer, Tensor weight) => weight.alias();
    public Tensor Rank(Tensor magnitudes, Generator generator) => magnitudes.alias();
}
