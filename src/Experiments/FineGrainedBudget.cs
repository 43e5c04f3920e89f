using Harness.Metrics;
using Harness.Model.Networks;
using Harness.Pruning.Channels;
using Harness.Pruning.FineGrained;
using static TorchSharp.torch;

namespace Harness.Experiments;

/// <summary>Fine-grained pruning to a number of nonzero parameters (<c>prune fine-grained --target-nonzero</c>):
/// global, by element, L1 or Taylor; the count of units to prune is exact, since the zeros still alive in the
/// selected layers rank first and take no nonzero away.</summary>
public static class FineGrainedBudget
{
    /// <summary>The options that leave exactly <paramref name="target"/> (a fraction of the model's nonzero parameters,
    /// or a count such as <c>1.2M</c>) nonzero parameters, and the target and nonzero count before, as numbers. An
    /// unreachable target is an <see cref="ArgumentException"/> naming the smallest reachable count.</summary>
    public static (FineGrainedOptions Options, long Target, long Before) Resolve(IPrunableNetwork model, FineGrainedOptions options,
        string target, string option)
    {
        if (options.Scope != PruningScope.Global || options.Granularity != Granularity.Element || options.Method == FineGrainedMethods.Random)
            throw new ArgumentException($"{option} prunes globally by element with L1 or Taylor (drop --scope/--granularity, and --method Random)");
        long nonzero = ParameterCounter.Count(model.Module).Nonzero;
        long count = BudgetSearch.ParseTarget(target, nonzero, option);
        long alive = 0, aliveZeros = 0;
        using (no_grad())
            foreach (var (_, layer) in FineGrainedPruner.SelectLayers(model.Module, options))
            {
                using var keep = layer.Mask is null ? ones_like(layer.Weight) : layer.Mask.clone();
                using var a = keep.ne(0);
                alive += a.sum().item<long>();
                using var z = a.logical_and(layer.Weight.detach().eq(0));
                aliveZeros += z.sum().item<long>();
            }
        long removable = alive - aliveZeros;
        if (nonzero - removable > count)
            throw new ArgumentException($"{option} {count:N0} is unreachable: the smallest reachable is {nonzero - removable:N0} nonzero parameters (every selected weight pruned; the rest are biases, BatchNorm and layers left out)");
        long k = Math.Max(0, nonzero - count);
        return (options with { Amount = k == 0 ? 0 : k + aliveZeros, AmountIsCount = true }, count, nonzero);
    }
}
