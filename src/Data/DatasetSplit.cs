namespace Harness.Data;

/// <summary>Deterministic train/validation split: a Fisher–Yates shuffle driven by SplitMix64, so the same seed
/// gives the same split on every run and machine.</summary>
public static class DatasetSplit
{
    public static (int[] Train, int[] Validation) Indices(int count, double trainFraction = 0.9, ulong seed = 42)
    {
        if (count < 0) throw new ArgumentOutOfRangeException(nameof(count));
        if (!(trainFraction is >= 0 and <= 1)) throw new ArgumentOutOfRangeException(nameof(trainFraction), trainFraction, "must lie in [0, 1]");
        int[] order = Permutation(count, seed);
        int nTrain = (int)Math.Round(count * trainFraction, MidpointRounding.ToEven);
        return (order[..nTrain], order[nTrain..]);
    }

    public static (ImageDataset Train, ImageDataset Validation) TrainValidation(ImageDataset data, double trainFraction = 0.9, ulong seed = 42)
    {
        var (t, v) = Indices(data.Count, trainFraction, seed);
        return (data.Subset(t), data.Subset(v));
    }

    /// <summary>A permutation of 0..n-1 that is a pure function of (n, seed).</summary>
    public static int[] Permutation(int n, ulong seed)
    {
        var order = Enumerable.Range(0, n).ToArray();
        var rng = new SplitMix64(seed);
        for (int i = n - 1; i > 0; i--)
        {
            int j = (int)rng.NextBelow((ulong)(i + 1));
            (order[i], order[j]) = (order[j], order[i]);
        }
        return order;
    }
}
