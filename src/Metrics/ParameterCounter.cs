using Harness.Model.Layers;
using static TorchSharp.torch;

namespace Harness.Metrics;

/// <summary>Parameter counts: all parameter elements, and the nonzero elements of what the forward pass uses.</summary>
public static class ParameterCounter
{
    public static (long Parameters, long Nonzero) Count(nn.Module model)
    {
        using var scope = NewDisposeScope();
        long total = 0, nonzero = 0;
        foreach (var (_, module) in model.named_modules())
        {
            foreach (var (name, p) in module.named_parameters(recurse: false))
            {
                total += p.numel();
                // A masked layer's forward uses weight_orig * weight_mask: count what it uses.
                var used = module is PrunableLayer { IsMasked: true } layer && name == "weight_orig" ? layer.EffectiveWeight() : p;
                nonzero += used.count_nonzero().item<long>();
            }
        }
        return (total, nonzero);
    }
}
