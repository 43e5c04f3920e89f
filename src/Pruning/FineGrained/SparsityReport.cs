using Harness.Model.Layers;
using static TorchSharp.torch;

namespace Harness.Pruning.FineGrained;

/// <summary>Per-layer sparsity (name, shape, zeros, density) and the totals over the reported layers.</summary>
public sealed record SparsityReport(IReadOnlyList<LayerSparsity> Layers)
{
    public long Elements => Layers.Sum(l => l.Elements);
    public long Zeros => Layers.Sum(l => l.Zeros);
    public double Sparsity => Elements == 0 ? 0 : (double)Zeros / Elements;

    public static SparsityReport Of(IEnumerable<(string Name, PrunableLayer Layer)> layers)
    {
        var rows = new List<LayerSparsity>();
        foreach (var (name, layer) in layers)
        {
            using var scope = NewDisposeScope();
            var w = layer.EffectiveWeight();
            long zeros = w.numel() - w.count_nonzero().item<long>();
            rows.Add(new LayerSparsity(name, w.shape, w.numel(), zeros));
        }
        return new SparsityReport(rows);
    }
}
