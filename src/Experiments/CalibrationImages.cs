using Harness.Data;
using static TorchSharp.torch;

namespace Harness.Experiments;

/// <summary>The images a static quantization is calibrated on: the first <c>batches</c> batches of the training
/// split (the study's 0.9 split with its seed, shuffled with that seed, no flips), transformed as for evaluation, as
/// float arrays ONNX Runtime reads. Never test images.</summary>
public static class CalibrationImages
{
    public const int DefaultBatches = 8;
    public const int DefaultBatchSize = 16;

    public static IReadOnlyList<(float[] Data, int[] Shape)> FromTrainingSplit(LocatedDataset located, int batches, int batchSize,
        int imageSize, ulong seed)
    {
        var (train, _) = DatasetSplit.TrainValidation(located.Train, 0.9, seed);
        return FromImages(train, batches, batchSize, imageSize, seed);
    }

    /// <summary>The first <paramref name="batches"/> batches of <paramref name="train"/> in the order its seeded
    /// shuffle gives, without flips.</summary>
    public static IReadOnlyList<(float[] Data, int[] Shape)> FromImages(ImageDataset train, int batches, int batchSize, int imageSize, ulong seed)
    {
        if (batches < 1) throw new ArgumentException($"--calibration-batches must be at least 1 (got {batches})");
        if (batchSize < 1) throw new ArgumentException($"--batch-size must be at least 1 (got {batchSize})");
        if (train.Count == 0) throw new ArgumentException("--data: the training split is empty; calibration needs training images");
        var loader = new BatchLoader(train, batchSize, shuffle: true, new BatchTransform { ImageSize = imageSize }, CPU, seed);
        var result = new List<(float[], int[])>();
        foreach (var batch in loader.Epoch(0).Take(batches))
            using (batch)
            using (var images = batch.Images.to(float32).cpu().contiguous())
                result.Add((images.data<float>().ToArray(), images.shape.Select(d => (int)d).ToArray()));
        return result;
    }

    public static string Describe(LocatedDataset located, IReadOnlyList<(float[] Data, int[] Shape)> batches) =>
        $"{located.Description}: training split (0.9), {batches.Sum(b => b.Shape[0])} images in {batches.Count} batches";
}
