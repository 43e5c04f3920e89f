using FsCheck;
using FsCheck.Fluent;
using Harness.Data;
using Harness.Tests.TestSupport;
using static TorchSharp.torch;

namespace Harness.Tests.Properties.Data;

public class DataProperties
{
    private static readonly Config Quick = Config.QuickThrowOnFailure.WithMaxTest(40);

    [Test]
    public void SplitIsDisjointCoversTheSetAndIsAFunctionOfTheSeed()
    {
        Prop.ForAll(Gen.Choose(0, 3000).ToArbitrary(), Gen.Choose(0, 100).ToArbitrary(), Gen.Choose(0, int.MaxValue).ToArbitrary(), (n, pct, seed) =>
        {
            var (train, val) = DatasetSplit.Indices(n, pct / 100.0, (ulong)seed);
            var again = DatasetSplit.Indices(n, pct / 100.0, (ulong)seed);
            return !train.Intersect(val).Any() && train.Concat(val).Order().SequenceEqual(Enumerable.Range(0, n))
                   && train.SequenceEqual(again.Train) && val.SequenceEqual(again.Validation)
                   && train.Length == (int)Math.Round(n * (pct / 100.0), MidpointRounding.ToEven); // round(count × fraction), the fraction a double
        }).Check(Quick);
    }

    /// <summary>A seeded sample of a class-sorted set (the image-folder order) keeps the original order, has the
    /// asked size, is a function of the seed, and holds every class once the sample is large enough.</summary>
    [Test]
    public void SampleOfAClassSortedSetIsOrderedSeededAndHoldsEveryClass()
    {
        Prop.ForAll(Gen.Choose(1, 50).ToArbitrary(), Gen.Choose(0, 500).ToArbitrary(), Gen.Choose(0, int.MaxValue).ToArbitrary(), (perClass, n, seed) =>
        {
            int count = 10 * perClass;
            var labels = Enumerable.Range(0, count).Select(i => (byte)(i / perClass)).ToArray();
            var pixels = Enumerable.Range(0, count).SelectMany(i => Enumerable.Repeat((byte)(i % 251), 3)).ToArray();
            var data = new ImageDataset(pixels, labels, 1, 1, Enumerable.Range(0, 10).Select(c => $"c{c}").ToList(), "sorted");
            var sample = data.Sample(n, (ulong)seed);
            var again = data.Sample(n, (ulong)seed);
            bool ordered = sample.Labels.Zip(sample.Labels.Skip(1)).All(p => p.First <= p.Second);
            // 200 draws from ≥ 20 per class miss a class with probability below 1e-8.
            bool everyClass = n < 200 || perClass < 20 || sample.Labels.Distinct().Count() == 10;
            return sample.Count == Math.Min(n, count) && ordered && sample.Labels.SequenceEqual(again.Labels)
                   && sample.Pixels.SequenceEqual(again.Pixels) && everyClass;
        }).Check(Quick);
    }

    [Test]
    public void SampleOfFiftyImagesPerClassOfTheSortedTestSetIsBalancedEnough()
    {
        var labels = Enumerable.Range(0, 10_000).Select(i => (byte)(i / 1000)).ToArray();
        var data = new ImageDataset(new byte[10_000 * 3], labels, 1, 1, Enumerable.Range(0, 10).Select(c => $"c{c}").ToList(), "sorted");
        var counts = data.Sample(2000, 42).ClassCounts();
        Assert.That(counts, Has.All.InRange(150, 250), "about 200 of each class, where Take(2000) gives classes 0 and 1 only");
        Assert.That(data.Take(2000).ClassCounts().Count(c => c > 0), Is.EqualTo(2));
    }

    [Test]
    public void SplitOfFiftyThousandWithSeed42IsPinned()
    {
        // The split must be the same on every machine: pin a few positions of the permutation.
        // SplitMix64 + Fisher–Yates with seed 42: these are the positions every machine must produce.
        var (train, val) = DatasetSplit.Indices(50_000);
        Assert.That((train.Length, val.Length), Is.EqualTo((45_000, 5_000)));
        Assert.That(train.Take(5).Concat(val.Take(5)).ToArray(), Is.EqualTo(new[] { 19263, 22353, 22711, 30961, 40616, 12197, 37379, 37920, 33047, 32686 }), "first train and validation indices");
        Assert.That(DatasetSplit.Permutation(10, 42), Is.EqualTo(new[] { 0, 9, 5, 8, 6, 4, 7, 2, 1, 3 }), "permutation of 10 with seed 42");
    }

    private static Tensor RandomImages(int seed, int n, int side)
    {
        var gen = new Generator((ulong)seed);
        return randint(0, 256, new long[] { n, 3, side, side }, generator: gen).to(ScalarType.Byte);
    }

    [Test]
    public void FlippingTwiceIsIdentity()
    {
        Prop.ForAll(Gen.Choose(0, 1000).ToArbitrary(), seed =>
        {
            using var scope = NewDisposeScope();
            var t = new BatchTransform { ImageSize = 8, Train = true, Mean = [0, 0, 0], Std = [1, 1, 1] };
            var x = RandomImages(seed, 3, 8);
            var once = t.Apply(x, [true, false, true]);
            var twice = t.Apply((once * 255).round().to(ScalarType.Byte), [true, false, true]);
            return TensorAssert.Identical(twice, t.Apply(x, null));
        }).Check(Quick);
    }

    [Test]
    public void NormalisingTheMeanColourGivesZero()
    {
        using var scope = NewDisposeScope();
        var t = new BatchTransform { ImageSize = 16, Mean = [0.2, 0.4, 0.6], Std = [0.229, 0.224, 0.225] };
        var x = tensor(new byte[] { 51, 102, 153 }).view(1, 3, 1, 1).expand(2, 3, 16, 16).contiguous();
        Assert.That(t.Apply(x, null).abs().max().item<float>(), Is.LessThan(1e-6f));
    }

    [Test]
    public void TransformOfABatchEqualsTransformOfItsImagesOneByOne()
    {
        Prop.ForAll(Gen.Choose(0, 1000).ToArbitrary(), Gen.Choose(1, 5).ToArbitrary(), Gen.Elements(16, 32, 40).ToArbitrary(), (seed, n, size) =>
        {
            using var scope = NewDisposeScope();
            var t = new BatchTransform { ImageSize = size, Train = true };
            var x = RandomImages(seed, n, 12);
            var flips = Enumerable.Range(0, n).Select(i => (i + seed) % 2 == 0).ToArray();
            var whole = t.Apply(x, flips);
            var parts = cat(Enumerable.Range(0, n).Select(i => t.Apply(x.narrow(0, i, 1), [flips[i]])).ToList(), 0);
            return (whole - parts).abs().max().item<float>() < 1e-5f;
        }).Check(Quick);
    }

    [Test]
    public void LoaderVisitsEveryImageOncePerEpochInASeededOrder()
    {
        Prop.ForAll(Gen.Choose(1, 60).ToArbitrary(), Gen.Choose(1, 16).ToArbitrary(), Gen.Choose(0, 1000).ToArbitrary(), (n, batch, seed) =>
        {
            var labels = Enumerable.Range(0, n).Select(i => (byte)(i % 10)).ToArray();
            var pixels = new byte[n * 3 * 4 * 4];
            for (int i = 0; i < n; i++) pixels[i * 48] = (byte)i; // first byte tags the image
            var data = new ImageDataset(pixels, labels, 4, 4, Harness.Data.Cifar.CifarClasses.Names, "tagged");
            var loader = new BatchLoader(data, batch, shuffle: true, new BatchTransform { ImageSize = 4, Mean = [0, 0, 0], Std = [1, 1, 1] }, CPU, (ulong)seed);
            List<int> Seen(int epoch) => loader.Epoch(epoch).SelectMany(b =>
            {
                using (b) return Enumerable.Range(0, b.Count).Select(i => (int)Math.Round(b.Images[i, 0, 0, 0].item<float>() * 255)).ToList();
            }).ToList();
            var e0 = Seen(0);
            return e0.Order().SequenceEqual(Enumerable.Range(0, n)) && e0.SequenceEqual(Seen(0))
                   && loader.Order(0).SequenceEqual(e0) && (n < 8 || !Seen(1).SequenceEqual(e0));
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(15));
    }
}
