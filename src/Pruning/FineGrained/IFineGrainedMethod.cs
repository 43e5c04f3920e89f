using Harness.Model.Layers;
using Harness.Pruning.Criteria;
using System.Text.Json.Serialization;
using static TorchSharp.torch;

namespace Harness.Pruning.FineGrained;

/// <summary>
/// How fine-grained units are ranked (torch.nn.utils.prune's <c>compute_mask</c> rule): the smallest saliencies are
/// pruned first. <see cref="FineGrainedMethods"/> lists them; adding one is one type and its entry there.
/// </summary>
[JsonConverter(typeof(FineGrainedMethodJsonConverter))]
public interface IFineGrainedMethod : INamedCriterion
{
    /// <summary>The signed per-element saliency of a layer's weight (same shape as the weight); the pruner ranks its
    /// magnitude summed over each unit. L1: the weight; Taylor: weight × gradient.</summary>
    Tensor Saliency(PrunableLayer layer, Tensor weight);

    /// <summary>The scores the pruner ranks among the units still alive, from their magnitudes: the magnitudes
    /// themselves, or (random pruning) seeded draws of the same shape.</summary>
    Tensor Rank(Tensor magnitudes, Generator generator);
}

