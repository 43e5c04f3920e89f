using Harness.Data;
using Harness.Model.Families;
using Harness.Storage.Checkpoints;
using Harness.Tests.TestSupport;
using Harness.Training;
using static TorchSharp.torch;

namespace Harness.Tests.Unit.Training;

/// <summary>A tiny EfficientNet and tiny synthetic data (four classes of 16×16 images whose colour depends on the
/// class), so training tests run whole epochs in a fraction of a second.</summary>
internal static class TinyTraining
{
    public static EfficientNetConfig Config(int classes = 4) =>
        EfficientNetConfig.Scaled(0.25, 0.34, classes) with { Dropout = 0.0, StochasticDepthProb = 0.0 };

    public static EfficientNet TinyModel(int classes = 4) => EfficientNets.Create(Config(classes), 11);

    public static ImageDataset Synthetic(int n, int seed)
    {
        var rng = new System.Random(seed);
        var labels = Enumerable.Range(0, n).Select(i => (byte)(i % 4)).ToArray();
        var pixels = new byte[n * 3 * 16 * 16];
        for (int i = 0; i < n; i++)
            for (int p = 0; p < 3 * 256; p++)
                pixels[i * 768 + p] = (byte)Math.Clamp(labels[i] * 60 + rng.Next(0, 40) + (p / 256) * 10, 0, 255);
        return new ImageDataset(pixels, labels, 16, 16, ["a", "b", "c", "d"], "synthetic");
    }

    public static BatchLoader Loader(ImageDataset d, bool train, int batch = 16) =>
        new(d, batch, shuffle: train, new BatchTransform { ImageSize = 32, Train = train }, CPU, 7);

    /// <summary>Sets torch's thread count until disposed (bit-identical runs need one count throughout).</summary>
    public static IDisposable Threads(int count)
    {
        int before = get_num_threads();
        set_num_threads(count);
        return new Restore(() => set_num_threads(before));
    }

    /// <summary>Fails naming the first tensor whose bits differ.</summary>
    public static void AssertSameWeights(nn.Module expected, nn.Module actual, string context)
    {
        var e = expected.state_dict();
        var a = actual.state_dict();
        Assert.That(a.Keys, Is.EquivalentTo(e.Keys), context);
        foreach (var (k, v) in a) Assert.That(TensorAssert.Identical(v, e[k]), Is.True, $"{context}: {k} differs");
    }

    public static void AssertSameCheckpoint(string expectedPath, string actualPath, string context)
    {
        using var e = TorchCheckpoint.Load(expectedPath);
        using var a = TorchCheckpoint.Load(actualPath);
        Assert.That(a.Keys, Is.EqualTo(e.Keys), context);
        foreach (var (k, v) in a.Items) Assert.That(TensorAssert.Identical(v, e[k]), Is.True, $"{context}: {k} differs in {actualPath}");
    }

    /// <summary>The history without its timings, which no two runs share.</summary>
    public static List<EpochRecord> Untimed(IEnumerable<EpochRecord> history) => history.Select(h => h with { Seconds = 0 }).ToList();

    private sealed class Restore(Action restore) : IDisposable
    {
        public void Dispose() => restore();
    }
}
