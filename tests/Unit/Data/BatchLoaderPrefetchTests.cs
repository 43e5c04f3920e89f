using Harness.Data;
using Harness.Tests.TestSupport;
using static TorchSharp.torch;

namespace Harness.Tests.Unit.Data;

/// <summary>Prefetching changes when a batch is made, never what it holds.</summary>
public class BatchLoaderPrefetchTests
{
    [Test]
    public void PrefetchedAndSynchronousEpochsGiveTheSameBatchesBitForBit()
    {
        var rng = new Random(3);
        var pixels = new byte[40 * 3 * 8 * 8];
        rng.NextBytes(pixels);
        var data = new ImageDataset(pixels, Enumerable.Range(0, 40).Select(i => (byte)(i % 4)).ToArray(), 8, 8, ["a", "b", "c", "d"], "random");
        var transform = new BatchTransform { ImageSize = 16, Train = true };
        var synchronous = new BatchLoader(data, 7, true, transform, CPU, 5);
        var prefetched = new BatchLoader(data, 7, true, transform, CPU, 5) { Prefetch = true };
        Assert.That(synchronous.Prefetch, Is.False, "on the CPU batches are made when asked for");
        foreach (int epoch in new[] { 0, 3 })
        {
            var a = synchronous.Epoch(epoch).ToList();
            var b = prefetched.Epoch(epoch).ToList();
            Assert.That(a, Has.Count.EqualTo(6).And.Count.EqualTo(b.Count));
            for (int i = 0; i < a.Count; i++)
            {
                TensorAssert.AreIdentical(a[i].Images, b[i].Images, $"epoch {epoch} batch {i} images");
                TensorAssert.AreIdentical(a[i].Labels, b[i].Labels, $"epoch {epoch} batch {i} labels");
            }
            foreach (var x in a.Concat(b)) x.Dispose();
        }
    }
}
