using Harness.Export.Quantization;

namespace Harness.Tests.Unit.Export;

public class HistogramRangesTests
{
    /// <summary>A ReLU-like activation: a dense bulk on [0, 1] and a handful of values near 100. MinMax spends its 255
    /// steps on [0, 100] (the bulk gets 2–3 of them); entropy and the 99.9th percentile clip the outliers and keep
    /// the bulk.</summary>
    [Test]
    public void EntropyAndPercentileClipRareOutliersThatMinMaxKeeps()
    {
        var observer = new ActivationObserver();
        var rng = new Random(1);
        var bulk = Enumerable.Range(0, 200_000).Select(_ => (float)Math.Abs(rng.NextDouble() * rng.NextDouble())).ToArray();
        var outliers = new[] { 90f, 95f, 100f };
        float[] all = [.. bulk, .. outliers];
        observer.ObserveRange(all);
        observer.ObserveHistogram(all, 2048);
        Assert.That(observer.Range(CalibrationMethod.MinMax, 99.999), Is.EqualTo((0.0, 100.0)));
        var (plo, phi) = observer.Range(CalibrationMethod.Percentile, 99.9);
        var (elo, ehi) = observer.Range(CalibrationMethod.Entropy, 99.999);
        Assert.That((plo, elo), Is.EqualTo((0.0, 0.0)));
        Assert.That(phi, Is.InRange(0.9, 1.5), "percentile keeps the bulk");
        Assert.That(ehi, Is.InRange(0.8, 20), "entropy clips the outliers");
    }

    /// <summary>A uniform distribution has nothing to clip: entropy keeps (nearly) all of it.</summary>
    [Test]
    public void EntropyKeepsAUniformDistributionWhole()
    {
        var histogram = Enumerable.Repeat(1000L, 2048).ToArray();
        var (lo, hi) = HistogramRanges.Entropy(histogram, -1, 3);
        Assert.That(lo, Is.LessThanOrEqualTo(-0.95));
        Assert.That(hi, Is.GreaterThanOrEqualTo(2.85));
    }

    [Test]
    public void UnknownMethodNamesTheOption()
    {
        var ex = Assert.Throws<ArgumentException>(() => CalibrationMethods.Parse("kl"));
        Assert.That(ex!.Message, Is.EqualTo("--calibration must be one of minmax, percentile, entropy (got 'kl')"));
        Assert.That(CalibrationMethods.Parse("Entropy"), Is.EqualTo(CalibrationMethod.Entropy));
    }

    /// <summary>A ReLU output: half its values exactly 0, the rest |N(0, 1)|. Zero is exact in every encoding, so the
    /// spike carries no error and must not drive the entropy method: the chosen range keeps the bulk (≥ 2.5σ), where
    /// counting the zeros in the divergence clipped ReLU outputs of a trained ResNet-18 to a quarter of their range
    /// and cost 5 points of test accuracy.</summary>
    [Test]
    public void TheSpikeOfExactZerosAfterAReluDoesNotDriveTheEntropyRange()
    {
        var observer = new ActivationObserver();
        var rng = new Random(2);
        var values = Enumerable.Range(0, 400_000).Select(i => i % 2 == 0 ? 0f
            : (float)Math.Abs(Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble()))).ToArray();
        observer.ObserveRange(values);
        observer.ObserveHistogram(values, 2048);
        Assert.That(observer.Zeros, Is.EqualTo(200_000));
        var (lo, hi) = observer.Range(CalibrationMethod.Entropy, 99.999);
        Assert.That(lo, Is.Zero);
        Assert.That(hi, Is.GreaterThanOrEqualTo(2.5));
        var (_, percentileHi) = observer.Range(CalibrationMethod.Percentile, 99.9);
        Assert.That(percentileHi, Is.InRange(3.0, 3.6), "the percentile counts the zeros among the values: the 99.95th of |N(0,1)|");
    }
}
