namespace Harness.Model.Families;

/// <summary>
/// EfficientNet described as data: the stage table, width and depth multipliers and the head. B0 is
/// width 1.0, depth 1.0; tests use small multipliers for tiny variants with the same structure.
/// </summary>
public sealed record EfficientNetConfig
{
    /// <summary>torchvision's EfficientNet-B0 stage table.</summary>
    public static IReadOnlyList<EfficientNetStage> B0Stages { get; } =
    [
        new(1, 3, 1, 32, 16, 1),
        new(6, 3, 2, 16, 24, 2),
        new(6, 5, 2, 24, 40, 2),
        new(6, 3, 2, 40, 80, 3),
        new(6, 5, 1, 80, 112, 3),
        new(6, 5, 2, 112, 192, 4),
        new(6, 3, 1, 192, 320, 1),
    ];

    public IReadOnlyList<EfficientNetStage> Stages { get; init; } = B0Stages;
    public double WidthMult { get; init; } = 1.0;
    public double DepthMult { get; init; } = 1.0;
    public int NumClasses { get; init; } = 1000;
    public double Dropout { get; init; } = 0.2;
    public double StochasticDepthProb { get; init; } = 0.2;

    public static EfficientNetConfig B0(int numClasses = 1000) => new() { NumClasses = numClasses };

    /// <summary>A smaller network with B0's structure (for tests and quick experiments).</summary>
    public static EfficientNetConfig Scaled(double widthMult, double depthMult, int numClasses = 10) =>
        new() { WidthMult = widthMult, DepthMult = depthMult, NumClasses = numClasses };

    /// <summary>torchvision's <c>_make_divisible(v, 8)</c>: nearest multiple of 8, never below 8, never more
    /// than 10% below v.</summary>
    public static int MakeDivisible(double value, int divisor = 8)
    {
        int rounded = Math.Max(divisor, (int)(value + divisor / 2.0) / divisor * divisor);
        if (rounded < 0.9 * value) rounded += divisor;
        return rounded;
    }

    public int AdjustChannels(int channels) => MakeDivisible(channels * WidthMult);

    public int AdjustDepth(int repeats) => (int)Math.Ceiling(repeats * DepthMult);

    public void Validate()
    {
        if (Stages.Count == 0) throw new ArgumentException("the stage table is empty");
        if (!(WidthMult > 0) || !(DepthMult > 0))
            throw new ArgumentException($"width and depth multipliers must be positive (got {WidthMult}, {DepthMult})");
        if (NumClasses < 1) throw new ArgumentException($"NumClasses must be at least 1 (got {NumClasses})");
        if (Dropout is < 0 or > 1) throw new ArgumentException($"Dropout must lie in [0, 1] (got {Dropout})");
        if (StochasticDepthProb is < 0 or > 1)
            throw new ArgumentException($"StochasticDepthProb must lie in [0, 1] (got {StochasticDepthProb})");
    }
}
