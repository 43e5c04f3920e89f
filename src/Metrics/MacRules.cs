namespace Harness.Metrics;

/// <summary>
/// The per-layer MAC formulas of both conventions, from tensor shapes alone (see <see cref="MacConvention"/>).
/// Shapes are PyTorch's: activations N×C×H×W (or N×F for Linear), convolution weights
/// C_out × (C_in / groups) × k_h × k_w.
/// </summary>
public static class MacRules
{
    /// <summary>Number of elements of a tensor of this shape.</summary>
    public static long Elements(IReadOnlyList<long> shape)
    {
        long n = 1;
        foreach (long d in shape)
            n = checked(n * d);
        return n;
    }

    /// <summary>Convolution: output elements × (in channels / groups) × kernel area (bias ignored); same in
    /// both conventions. <paramref name="weightShape"/> is C_out × C_in/groups × k_h × k_w.</summary>
    public static long Convolution(IReadOnlyList<long> outputShape, IReadOnlyList<long> weightShape)
    {
        RequireRank(weightShape, 3, nameof(weightShape));
        long perOutput = 1;
        for (int i = 1; i < weightShape.Count; i++)
            perOutput = checked(perOutput * weightShape[i]);
        return checked(Elements(outputShape) * perOutput);
    }

    /// <summary>Convolution MACs that skip zero weights: every output channel c costs
    /// N × H_out × W_out × (nonzero weights of filter c); summed over channels that is
    /// N × H_out × W_out × (nonzero weights of the whole tensor).</summary>
    public static long EffectiveConvolution(IReadOnlyList<long> outputShape, IReadOnlyList<long> weightShape,
        long nonzeroWeights)
    {
        RequireRank(weightShape, 3, nameof(weightShape));
        long positions = Elements(outputShape) / weightShape[0];
        return checked(positions * nonzeroWeights);
    }

    /// <summary>Linear: output elements × in features (bias ignored); same in both conventions.</summary>
    public static long Linear(IReadOnlyList<long> outputShape, long inFeatures) =>
        checked(Elements(outputShape) * inFeatures);

    /// <summary>Linear MACs that skip zero weights: rows × nonzero weights.</summary>
    public static long EffectiveLinear(IReadOnlyList<long> outputShape, long outFeatures, long nonzeroWeights) =>
        checked(Elements(outputShape) / outFeatures * nonzeroWeights);

    /// <summary>BatchNorm: thop 2 × elements, doubled when affine (so 4 × elements for torchvision's BN);
    /// torchprofile output elements when affine, else zero.</summary>
    public static long BatchNorm(MacConvention convention, IReadOnlyList<long> inputShape, bool affine) =>
        convention switch
        {
            MacConvention.Thop => checked(Elements(inputShape) * (affine ? 4 : 2)),
            MacConvention.TorchProfile => affine ? Elements(inputShape) : 0,
            _ => throw new ArgumentOutOfRangeException(nameof(convention), convention, "unknown MAC convention"),
        };

    /// <summary>Adaptive average pool: thop (kernel area + 1) × output elements, where the kernel area is the
    /// product of input/output sizes per spatial dimension (truncated like thop's <c>int(...)</c>);
    /// torchprofile output elements.</summary>
    public static long AdaptiveAvgPool(MacConvention convention, IReadOnlyList<long> inputShape,
        IReadOnlyList<long> outputShape)
    {
        if (inputShape.Count != outputShape.Count || inputShape.Count < 3)
            throw new ArgumentException(
                $"adaptive pool shapes must have the same rank ≥ 3, got input [{string.Join(", ", inputShape)}] " +
                $"and output [{string.Join(", ", outputShape)}]", nameof(inputShape));
        long outputs = Elements(outputShape);
        switch (convention)
        {
            case MacConvention.Thop:
                double kernel = 1;
                for (int i = 2; i < inputShape.Count; i++)
                    kernel *= (double)inputShape[i] / outputShape[i];
                return (long)Math.Floor((kernel + 1) * outputs);
            case MacConvention.TorchProfile:
                return outputs;
            default:
                throw new ArgumentOutOfRangeException(nameof(convention), convention, "unknown MAC convention");
        }
    }

    /// <summary>The squeeze-excitation <c>scale × input</c> multiplication: zero in thop, output elements in
    /// torchprofile (its <c>aten::mul</c> handler).</summary>
    public static long ExcitationScale(MacConvention convention, IReadOnlyList<long> outputShape) =>
        convention switch
        {
            MacConvention.Thop => 0,
            MacConvention.TorchProfile => Elements(outputShape),
            _ => throw new ArgumentOutOfRangeException(nameof(convention), convention, "unknown MAC convention"),
        };

    /// <summary>A global average pool called as a function inside a module's forward: zero in thop (it hooks
    /// modules only), output elements (<paramref name="batch"/> × <paramref name="channels"/>) in torchprofile.</summary>
    public static long FunctionalAveragePool(MacConvention convention, long batch, long channels) =>
        convention switch
        {
            MacConvention.Thop => 0,
            MacConvention.TorchProfile => checked(batch * channels),
            _ => throw new ArgumentOutOfRangeException(nameof(convention), convention, "unknown MAC convention"),
        };

    private static void RequireRank(IReadOnlyList<long> shape, int minRank, string name)
    {
        if (shape.Count < minRank)
            throw new ArgumentException(
                $"{name} must have at least {minRank} dimensions, got [{string.Join(", ", shape)}]", name);
    }
}
