using Harness.Model;
using Harness.Model.Layers;
using static TorchSharp.torch;

namespace Harness.Pruning.FineGrained;

/// <summary>
/// Fine-grained pruning with <c>torch.nn.utils.prune</c> semantics: masks live on the layers
/// (<c>weight_orig</c> × <c>weight_mask</c>), a new step only considers units that are still unpruned (so 50% then
/// 50% leaves 25%), the number pruned is <c>round(amount × unpruned units)</c>, and ties are broken by position so
/// the result is deterministic. Element, vector, kernel and structured granularities share one mechanism, scored by
/// the L1 norm of the unit (structured: L1 or L2, as ln_structured); N:M keeps the N largest of every M weights along the input dimension.
/// </summary>
public static class FineGrainedPruner
{
    /// <summary>Every Conv2d and Linear layer of the model that <see cref="FineGrainedOptions.Include"/> and
    /// <see cref="FineGrainedOptions.Exclude"/> select (<see cref="LayerSelection"/>).</summary>
    public static List<(string Name, PrunableLayer Layer)> SelectLayers(nn.Module model, FineGrainedOptions options)
    {
        var all = AllLayers(model).ToList();
        if (options.Include.Count == 0 && options.Exclude.Count == 0) return all;
        var selected = LayerSelection.Select(all.Select(l => l.Name).ToList(), options.Include, options.Exclude).ToHashSet(StringComparer.Ordinal);
        return all.Where(l => selected.Contains(l.Name)).ToList();
    }

    public static FineGrainedResult Prune(nn.Module model, FineGrainedOptions options)
    {
        options.Validate();
        var layers = SelectLayers(model, options);
        var skipped = new List<string>();
        using (no_grad())
        {
            if (options.Granularity == Granularity.NM)
            {
                foreach (var (name, layer) in layers)
                    if (!PruneNM(layer, options.N, options.M, options.Method)) skipped.Add(name);
            }
            else
            {
                using var generator = new Generator(unchecked((ulong)options.Seed));
                var groups = options.Scope == PruningScope.Global
                    ? [layers]
                    : layers.Select(l => new List<(string, PrunableLayer)> { l }).ToList();
                foreach (var group in groups)
                    PruneGroup(group.Select(g => g.Item2).ToList(), options, generator);
            }
        }
        return new FineGrainedResult(SparsityReport.Of(layers), skipped);
    }

    /// <summary>Folds every mask into its weight (idempotent) and reports the resulting sparsity.</summary>
    public static SparsityReport MakePermanent(nn.Module model)
    {
        var layers = AllLayers(model).ToList();
        foreach (var (_, layer) in layers) layer.MakePermanent();
        return SparsityReport.Of(layers);
    }

    /// <summary>The prunable layers of a model with their module names in PyTorch's module order (a bare layer is its
    /// own only layer): <see cref="ModuleOrder.PrunableLayers"/>.</summary>
    public static IEnumerable<(string Name, PrunableLayer Layer)> AllLayers(nn.Module model) => ModuleOrder.PrunableLayers(model);

    private static Tensor AsFourD(Tensor t) => t.dim() == 2 ? t.unsqueeze(-1).unsqueeze(-1) : t;

    /// <summary>The reduction dims of a granularity's units, on a 4-D view of the weight.</summary>
    private static long[] UnitDims(FineGrainedOptions options) => options.Granularity switch
    {
        Granularity.Element => [],
        Granularity.Vector => [3],
        Granularity.Kernel => [2, 3],
        Granularity.Structured => Enumerable.Range(0, 4).Where(d => d != options.Dim).Select(d => (long)d).ToArray(),
        _ => throw new ArgumentOutOfRangeException(nameof(options), options.Granularity, "no units"),
    };

    private static void PruneGroup(List<PrunableLayer> layers, FineGrainedOptions options, Generator generator)
    {
        using var scope = NewDisposeScope();
        var dims = UnitDims(options);
        var scores = new List<Tensor>();
        var alive = new List<Tensor>();
        foreach (var layer in layers)
        {
            var w = AsFourD(layer.Weight.detach());
            var m = AsFourD(layer.Mask ?? ones_like(layer.Weight));
            var magnitude = AsFourD(options.Method.Saliency(layer, layer.Weight.detach())).abs().to(float64);
            var mass = m.to(float64);
            if (dims.Length > 0)
            {
                // Structured L2 ranks by √Σw² (ln_structured with n=2); every other unit by its L1 norm.
                magnitude = options.Granularity == Granularity.Structured && options.Norm == 2
                    ? magnitude.square().sum(dims).sqrt()
                    : magnitude.sum(dims);
                mass = mass.sum(dims);
            }
            scores.Add(magnitude.flatten());
            alive.Add(mass.flatten() > 0);
        }
        var allAlive = cat(alive, 0);
        long available = allAlive.sum().item<long>();
        long k = options.UnitsToPrune(available);
        var candidates = cat(scores, 0).masked_select(allAlive);
        candidates = options.Method.Rank(candidates, generator);
        var prunedAlive = SelectSmallest(candidates, k);
        var pruned = zeros_like(allAlive).masked_scatter(allAlive, prunedAlive);
        long offset = 0;
        foreach (var (layer, a) in layers.Zip(alive))
        {
            long n = a.numel();
            var unitKeep = pruned.narrow(0, offset, n).logical_not();
            offset += n;
            var w4 = AsFourD(layer.Weight);
            var keep = unitKeep.reshape(UnitShape(w4.shape, dims));
            var elementKeep = keep.expand(w4.shape).reshape(layer.Weight.shape).to(layer.Weight.dtype);
            var newMask = layer.Mask is null ? elementKeep : layer.Mask * elementKeep;
            layer.ApplyMask(newMask);
        }
    }

    private static long[] UnitShape(long[] shape4, long[] dims)
    {
        var s = (long[])shape4.Clone();
        foreach (var d in dims) s[d] = 1;
        return s;
    }

    /// <summary>A boolean tensor marking exactly <paramref name="k"/> smallest scores; equal scores are taken in
    /// index order, so the choice is deterministic.</summary>
    public static Tensor SelectSmallest(Tensor scores, long k)
    {
        long n = scores.numel();
        if (k <= 0) return zeros(n, ScalarType.Bool);
        if (k >= n) return ones(n, ScalarType.Bool);
        using var scope = NewDisposeScope();
        var (values, _) = scores.kthvalue(k, 0);
        var below = scores < values;
        long need = k - below.sum().item<long>();
        if (need > 0)
        {
            var ties = (scores == values).nonzero().flatten().narrow(0, 0, need);
            below.index_put_(tensor(true), ties);
        }
        return below.MoveToOuterDisposeScope();
    }

    /// <summary>Keeps the N largest magnitudes of every M consecutive weights along the input dimension.
    /// Returns false (layer skipped) when that dimension is not a multiple of M.</summary>
    private static bool PruneNM(PrunableLayer layer, int n, int m, IFineGrainedMethod method)
    {
        using var scope = NewDisposeScope();
        var w4 = AsFourD(layer.Weight.detach());
        long inDim = w4.shape[1];
        if (inDim % m != 0) return false;
        var mask4 = AsFourD(layer.Mask ?? ones_like(layer.Weight));
        var score = AsFourD(method.Saliency(layer, layer.Weight.detach()));
        var grouped = (score * mask4).abs().permute(0, 2, 3, 1).reshape(-1, m);
        var keep = zeros_like(grouped);
        if (n > 0)
        {
            var (_, idx) = grouped.topk(n, dim: 1, largest: true, sorted: true);
            keep.scatter_(1, idx, ones_like(idx, dtype: keep.dtype));
        }
        var shape = w4.shape;
        var keep4 = keep.reshape(shape[0], shape[2], shape[3], shape[1]).permute(0, 3, 1, 2).contiguous();
        var newMask = (keep4 * mask4).reshape(layer.Weight.shape);
        layer.ApplyMask(newMask);
        return true;
    }
}
