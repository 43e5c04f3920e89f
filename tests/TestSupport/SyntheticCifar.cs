namespace Harness.Tests.TestSupport;

/// <summary>Writes a small CIFAR-10 binary layout (<c>cifar-10-batches-bin/</c>: five train batches and the test
/// batch) of 32×32 images whose mean colour depends on the class, so tests can run the data pipeline without
/// <c>../shared</c>.</summary>
public static class SyntheticCifar
{
    public static string WriteBinary(string root, int imagesPerTrainBatch, int testImages, int seed = 0)
    {
        string dir = Path.Combine(root, "cifar-10-batches-bin");
        Directory.CreateDirectory(dir);
        var rng = new Random(seed);
        for (int b = 1; b <= 5; b++) File.WriteAllBytes(Path.Combine(dir, $"data_batch_{b}.bin"), Batch(imagesPerTrainBatch, rng));
        File.WriteAllBytes(Path.Combine(dir, "test_batch.bin"), Batch(testImages, rng));
        return root;
    }

    private static byte[] Batch(int n, Random rng)
    {
        var bytes = new byte[n * 3073];
        for (int i = 0; i < n; i++)
        {
            int label = i % 10;
            int o = i * 3073;
            bytes[o] = (byte)label;
            for (int c = 0; c < 3; c++)
            {
                int mean = 40 + 20 * ((label + 3 * c) % 10);
                for (int p = 0; p < 1024; p++)
                    bytes[o + 1 + c * 1024 + p] = (byte)Math.Clamp(mean + rng.Next(-30, 31), 0, 255);
            }
        }
        return bytes;
    }
}
