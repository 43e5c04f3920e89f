namespace Harness.Storage.Checkpoints;

/// <summary>
/// A tensor view of a storage as <c>_rebuild_tensor_v2</c> describes it, checked under <see cref="CheckpointLimits"/>:
/// non-negative offset, sizes and strides of one length, and overflow-checked <see cref="Numel"/> and
/// <see cref="Extent"/> (storage elements the view reaches: offset + Σ (size_i − 1) × stride_i + 1, or 0 when empty).
/// </summary>
internal sealed record StridedView(long Offset, long[] Size, long[] Stride, long Numel, long Extent)
{
    /// <summary>Checks the pickled arguments; <paramref name="bad"/> makes the exception for a message.</summary>
    public static StridedView From(object? offset, object?[] size, object?[] stride, Func<string, Exception> bad)
    {
        if (offset is not long off) throw bad("tensor storage offset is not an integer");
        if (size.Length > CheckpointLimits.MaxRank)
            throw bad($"tensor has {size.Length} dimensions; at most {CheckpointLimits.MaxRank} are read");
        if (size.Length != stride.Length)
            throw bad($"tensor has {size.Length} sizes but {stride.Length} strides");
        var sizes = new long[size.Length];
        var strides = new long[size.Length];
        for (int i = 0; i < size.Length; i++)
        {
            sizes[i] = size[i] is long v ? v : throw bad($"tensor size {i} is not an integer");
            strides[i] = stride[i] is long w ? w : throw bad($"tensor stride {i} is not an integer");
        }
        string view = $"sizes [{string.Join(", ", sizes)}], strides [{string.Join(", ", strides)}], offset {off}";
        if (off < 0) throw bad($"tensor view ({view}) has a negative storage offset");
        if (sizes.Any(s => s < 0)) throw bad($"tensor view ({view}) has a negative size");
        if (strides.Any(s => s < 0)) throw bad($"tensor view ({view}) has a negative stride");
        try
        {
            // The product of the non-zero sizes must fit too: libtorch computes strides from it even for empty tensors.
            long numel = 1, nonEmpty = 1, last = off;
            for (int i = 0; i < sizes.Length; i++)
            {
                nonEmpty = checked(nonEmpty * Math.Max(sizes[i], 1));
                numel = checked(numel * sizes[i]);
                if (sizes[i] > 0) last = checked(last + (sizes[i] - 1) * strides[i]);
            }
            return new StridedView(off, sizes, strides, numel, numel == 0 ? 0 : checked(last + 1));
        }
        catch (OverflowException)
        {
            throw bad($"tensor view ({view}): its element count or extent overflows a 64-bit integer");
        }
    }

    public override string ToString() =>
        $"sizes [{string.Join(", ", Size)}], strides [{string.Join(", ", Stride)}], offset {Offset}";
}
