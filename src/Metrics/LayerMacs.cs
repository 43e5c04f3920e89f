namespace Harness.Metrics;

/// <summary>The cost of one module call seen in the counting forward pass.</summary>
/// <param name="Name">The module's path in the model (torchvision names, e.g. <c>features.1.0.block.0.0</c>).</param>
/// <param name="Type">The module's .NET type name.</param>
/// <param name="Kind">How the counter treated it.</param>
/// <param name="InputShape">Shape of the input it received.</param>
/// <param name="OutputShape">Shape of the output it produced.</param>
/// <param name="MacsThop">MACs under <see cref="MacConvention.Thop"/>.</param>
/// <param name="MacsTorchProfile">MACs under <see cref="MacConvention.TorchProfile"/>.</param>
/// <param name="WeightDensity">For convolutions and Linear: nonzero / total elements of the effective weight
/// (after masks); null for other kinds.</param>
/// <param name="EffectiveWeightMacs">For convolutions and Linear: MACs that skip zero weights (same in both
/// conventions); null for other kinds.</param>
public sealed record LayerMacs(
    string Name,
    string Type,
    LayerKind Kind,
    IReadOnlyList<long> InputShape,
    IReadOnlyList<long> OutputShape,
    long MacsThop,
    long MacsTorchProfile,
    double? WeightDensity,
    long? EffectiveWeightMacs)
{
    /// <summary>Dense MACs under <paramref name="convention"/>.</summary>
    public long Macs(MacConvention convention) => convention switch
    {
        MacConvention.Thop => MacsThop,
        MacConvention.TorchProfile => MacsTorchProfile,
        _ => throw new ArgumentOutOfRangeException(nameof(convention), convention, "unknown MAC convention"),
    };

    /// <summary>MACs that skip zero weights: the effective count for convolutions and Linear, the dense count
    /// for every other kind.</summary>
    public long EffectiveMacs(MacConvention convention) => EffectiveWeightMacs ?? Macs(convention);
}
