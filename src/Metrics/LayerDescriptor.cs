namespace Harness.Metrics;

/// <summary>What the counter needs to know about one module before it runs: its kind and, for convolutions
/// and Linear, the shape and nonzero count of the weight the forward pass actually uses (after masks).</summary>
internal sealed record LayerDescriptor(LayerKind Kind, long[]? WeightShape, long NonzeroWeights, long WeightElements,
    bool Affine)
{
    /// <summary><see cref="LayerKind.FunctionalAveragePool"/>: the channels the forward pass pools to 1 × 1.</summary>
    public long PooledChannels { get; init; }

    /// <summary><see cref="LayerKind.GraphOperators"/>: the imported network whose nodes are counted.</summary>
    public Harness.Model.Families.GraphNetwork? Graph { get; init; }
}
