namespace Harness.Storage.Checkpoints;

/// <summary>
/// The bounds every checkpoint read enforces, so that no file, however crafted, makes Harness allocate much more
/// than the file itself holds. A file that breaks one is refused with a <see cref="CheckpointFormatException"/>
/// naming the file and the bound. The rules:
/// <list type="bullet">
/// <item>Zip records: a record may declare at most <see cref="MaxCompressionRatio"/> bytes per byte it occupies in
/// the file, never more compressed bytes than the file has, and never more than <see cref="MaxRecordBytes"/>; all
/// the records one load reads together at most <see cref="MaxCompressionRatio"/> × the file length. These checks
/// come before any buffer is sized; records are read into buffers of their declared size only, and a record whose
/// bytes do not match its CRC-32 is refused.</item>
/// <item>Tensor views: sizes, strides and the storage offset are non-negative, sizes and strides have the same
/// length (at most <see cref="MaxRank"/>), and every product and sum is computed with overflow checks. A view
/// must lie inside its storage: offset + Σ (size_i − 1) × stride_i + 1 ≤ the storage's elements (empty views
/// read nothing). The storage's declared elements × element size must equal its record's length.</item>
/// <item>Materialised bytes: broadcast (stride-0) or overlapping views can describe far more elements than a storage
/// holds, so the tensors one load materialises may together take at most <see cref="StorageReuseFactor"/> × the
/// bytes of the storages read plus <see cref="ViewAllowanceBytes"/>. Every storage may thus be viewed whole twice
/// (tied weights), and broadcast buffers may add up to 64 MiB, but a 400-byte file cannot expand into gigabytes.</item>
/// <item>Metadata (<see cref="TorchCheckpoint.MetadataRecord"/>): at most <see cref="MaxMetadataBytes"/>; the widths it
/// holds are checked by the family's <c>INetworkWidths.Validate</c> (Harness.Model) and against the tensors' shapes before a network
/// is built.</item>
/// <item>Pickle: see <see cref="Pickle.RestrictedUnpickler"/> (opcodes, stack, MARK nesting, memo, integer size).</item>
/// </list>
/// </summary>
public static class CheckpointLimits
{
    /// <summary>Declared bytes per stored byte of a zip record. torch.save stores records uncompressed (1:1);
    /// DEFLATE itself cannot exceed about 1032:1.</summary>
    public const int MaxCompressionRatio = 1000;

    /// <summary>The largest record read (the largest byte array .NET allocates).</summary>
    public static long MaxRecordBytes => Array.MaxLength;

    /// <summary>Dimensions of one tensor.</summary>
    public const int MaxRank = 32;

    /// <summary>How many times, in bytes, the storages read may be materialised in total (tied weights).</summary>
    public const int StorageReuseFactor = 2;

    /// <summary>Bytes that views may materialise beyond <see cref="StorageReuseFactor"/> × the storages' bytes.</summary>
    public const long ViewAllowanceBytes = 64L << 20;

    /// <summary>Bytes of Harness's metadata record (the widths of EfficientNet-B7 take about 25 KB).</summary>
    public const int MaxMetadataBytes = 1 << 20;

    /// <summary>The most bytes the tensors of one load may take, given the bytes of the storages it read.</summary>
    public static long MaterialisedBytesAllowed(long storageBytes) =>
        checked(StorageReuseFactor * storageBytes + ViewAllowanceBytes);
}
