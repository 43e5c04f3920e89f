namespace Harness.Metrics;

/// <summary>MACs of every module call of one forward pass, in execution order, with totals per convention.
/// FLOPs are 2 × MACs.</summary>
/// <param name="InputShape">The input of the counting pass (N×3×H×W).</param>
/// <param name="Layers">One entry per counted module call, in the order they ran.</param>
public sealed record MacReport(IReadOnlyList<long> InputShape, IReadOnlyList<LayerMacs> Layers)
{
    /// <summary>Dense MACs of the whole pass.</summary>
    public long Total(MacConvention convention) => Layers.Sum(l => l.Macs(convention));

    /// <summary>MACs skipping zero weights of convolutions and Linear layers.</summary>
    public long Effective(MacConvention convention) => Layers.Sum(l => l.EffectiveMacs(convention));

    /// <summary>Dense FLOPs = 2 × MACs.</summary>
    public long Flops(MacConvention convention) => 2 * Total(convention);

    /// <summary>Share of the total taken by one layer under <paramref name="convention"/> (0 when the total is 0).</summary>
    public double Share(LayerMacs layer, MacConvention convention)
    {
        long total = Total(convention);
        return total == 0 ? 0 : (double)layer.Macs(convention) / total;
    }
}
