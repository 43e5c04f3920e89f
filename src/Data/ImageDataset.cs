namespace Harness.Data;

/// <summary>
/// Images held in memory as uint8, <c>N × 3 × H × W</c> (CHW per image, as CIFAR stores them), with byte labels.
/// Transforms happen later, on whole batches on the compute device.
/// </summary>
public sealed class ImageDataset
{
    public ImageDataset(byte[] pixels, byte[] labels, int height, int width, IReadOnlyList<string> classes, string source)
    {
        if (height < 1 || width < 1) throw new ArgumentException($"image size {height}×{width} is invalid");
        long imageBytes = 3L * height * width;
        if (pixels.LongLength != labels.LongLength * imageBytes)
            throw new ArgumentException($"{source}: {pixels.LongLength} pixel bytes do not hold {labels.Length} images of 3×{height}×{width}");
        Pixels = pixels;
        Labels = labels;
        Height = height;
        Width = width;
        Classes = classes;
        Source = source;
    }

    public byte[] Pixels { get; }
    public byte[] Labels { get; }
    public int Count => Labels.Length;
    public int Height { get; }
    public int Width { get; }
    public int ImageBytes => 3 * Height * Width;
    public IReadOnlyList<string> Classes { get; }
    public string Source { get; }

    /// <summary>The images at <paramref name="indices"/>, in that order (a copy).</summary>
    public ImageDataset Subset(IReadOnlyList<int> indices)
    {
        var pixels = new byte[(long)indices.Count * ImageBytes];
        var labels = new byte[indices.Count];
        for (int j = 0; j < indices.Count; j++)
        {
            int i = indices[j];
            if ((uint)i >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(indices), i, $"index outside 0..{Count - 1}");
            Buffer.BlockCopy(Pixels, i * ImageBytes, pixels, j * ImageBytes, ImageBytes);
            labels[j] = Labels[i];
        }
        return new ImageDataset(pixels, labels, Height, Width, Classes, Source);
    }

    /// <summary>The first <paramref name="n"/> images (all of them when n is null or larger).</summary>
    public ImageDataset Take(int? n) =>
        n is null || n >= Count ? this : Subset(Enumerable.Range(0, Math.Max(0, n.Value)).ToList());

    /// <summary><paramref name="n"/> images drawn without replacement by a seeded permutation and kept in their
    /// original order (all of them when n is null or larger). Unlike <see cref="Take"/>, a subset of a class-sorted
    /// set (image folders) holds every class in about its share.</summary>
    public ImageDataset Sample(int? n, ulong seed) =>
        n is null || n >= Count ? this : Subset(DatasetSplit.Permutation(Count, seed).Take(Math.Max(0, n.Value)).Order().ToList());

    /// <summary>Number of images per class label.</summary>
    public int[] ClassCounts()
    {
        var counts = new int[Classes.Count];
        foreach (var l in Labels) counts[l]++;
        return counts;
    }
}
