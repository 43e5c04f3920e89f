namespace Harness.Pruning.FineGrained;

/// <summary>Sparsity of one layer's effective weight.</summary>
public sealed record LayerSparsity(string Name, IReadOnlyList<long> Shape, long Elements, long Zeros)
{
    public double Density => Elements == 0 ? 1.0 : (double)(Elements - Zeros) / Elements;
    public double Sparsity => 1.0 - Density;
}
