namespace Harness.Model.Networks;

/// <summary>The bounds the widths records of <see cref="Harness.Model.Families.ResNetWidths"/> and <see cref="Harness.Model.Families.MobileNetV2Widths"/> accept
/// from a file or a caller, and the checks their <c>Validate</c> methods share.</summary>
public static class WidthLimits
{
    /// <summary>Widest layer accepted (torchvision's widest, ResNet-50's last trunk, has 2,048 channels).</summary>
    public const int MaxChannels = 1 << 16;

    /// <summary>Most blocks (ResNet-152 has 50, MobileNetV2 17).</summary>
    public const int MaxBlocks = 1 << 10;

    /// <summary>Largest block stride (torchvision uses 1 and 2).</summary>
    public const int MaxStride = 8;

    /// <summary>Throws an <see cref="ArgumentException"/> naming <paramref name="what"/> unless
    /// <paramref name="value"/> lies in [<paramref name="low"/>, <paramref name="high"/>].</summary>
    internal static void InRange(string what, long value, long low, long high)
    {
        if (value < low || value > high) throw new ArgumentException($"widths: {what} must lie in [{low}, {high}] (got {value})");
    }

    /// <summary>Throws an <see cref="ArgumentException"/> naming <paramref name="what"/> unless
    /// <paramref name="p"/> lies in [0, 1].</summary>
    internal static void Probability(string what, double p)
    {
        if (!(p >= 0 && p <= 1)) throw new ArgumentException($"widths: {what} must lie in [0, 1] (got {p})");
    }

    /// <summary>Checks that block <paramref name="i"/> (stage <paramref name="blockStage"/>, index
    /// <paramref name="blockIndex"/>) follows the one before it in staged numbering — stage 1, 2, … and index 0, 1, …
    /// within a stage, without gaps — and advances <paramref name="stage"/>/<paramref name="index"/> past it.</summary>
    internal static void NextInStage(int i, int blockStage, int blockIndex, string at, ref int stage, ref int index)
    {
        if (blockStage == stage + 1 && i > 0)
        {
            stage++;
            index = 0;
        }
        if (blockStage != stage || blockIndex != index)
            throw new ArgumentException(
                $"widths: {at} must be stage {stage} index {index} or stage {stage + 1} index 0 (blocks are numbered in order without gaps)");
        index++;
    }
}
