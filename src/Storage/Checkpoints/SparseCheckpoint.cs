using Harness.Storage.Files;
using System.Buffers.Binary;
using System.IO.Compression;
using System.Text.Json;
using static TorchSharp.torch;

namespace Harness.Storage.Checkpoints;

/// <summary>
/// A checkpoint format whose size falls with density (layout in docs/sparse-checkpoint-format.md): per tensor the
/// smallest of dense values, a bitmask plus the nonzero values, a deflated bitmask plus the values, or an index
/// list plus the values. "Zero" means all bits zero, so −0.0, NaN and infinities survive bit-exactly. The header may
/// carry Harness's metadata record (the widths), as a torch checkpoint's <c>extra/harness.json</c> does.
/// </summary>
public static class SparseCheckpoint
{
    public static ReadOnlySpan<byte> Magic => "HSPARSE1"u8;
    public const int Version = 1;

    private static readonly Dictionary<ScalarType, string> DTypes = new()
    {
        [ScalarType.Float32] = "float32",
        [ScalarType.Float64] = "float64",
        [ScalarType.Float16] = "float16",
        [ScalarType.BFloat16] = "bfloat16",
        [ScalarType.Int64] = "int64",
        [ScalarType.Int32] = "int32",
        [ScalarType.Int16] = "int16",
        [ScalarType.Int8] = "int8",
        [ScalarType.Byte] = "uint8",
        [ScalarType.Bool] = "bool",
    };

    public sealed record Entry(string Name, string Dtype, long[] Shape, string Encoding, long Nonzero, long Offset, long Length);

    private sealed record Header(int Version, List<Entry> Tensors, string? Metadata = null);

    public static void Save(string path, StateDict stateDict, string? metadataJson = null)
    {
        var entries = new List<Entry>();
        var blob = new MemoryStream();
        foreach (var (name, tensor) in stateDict.Items)
        {
            using var cpu = tensor.detach().cpu().contiguous();
            if (!DTypes.TryGetValue(cpu.dtype, out var dtype))
                throw new NotSupportedException($"tensor '{name}' has dtype {cpu.dtype}, which the sparse format does not store");
            byte[] raw = cpu.numel() == 0 ? [] : cpu.bytes.ToArray();
            int es = (int)cpu.ElementSize;
            long numel = cpu.numel();
            var nonzero = new List<long>();
            for (long i = 0; i < numel; i++)
                if (raw.AsSpan((int)(i * es), es).IndexOfAnyExcept((byte)0) >= 0) nonzero.Add(i);
            long nnz = nonzero.Count;
            byte[] values = new byte[nnz * es];
            for (int j = 0; j < nnz; j++) raw.AsSpan((int)(nonzero[j] * es), es).CopyTo(values.AsSpan(j * es));
            byte[] bitmask = new byte[(numel + 7) / 8];
            foreach (var i in nonzero) bitmask[i >> 3] |= (byte)(1 << (int)(i & 7));
            byte[] deflated = Deflate(bitmask);
            int indexWidth = numel <= uint.MaxValue ? 4 : 8;

            var candidates = new List<(string Enc, long Size)>
            {
                ("dense", raw.Length),
                ("bitmask", bitmask.Length + values.Length),
                ("bitmask-deflate", 8 + deflated.Length + values.Length),
                (indexWidth == 4 ? "indices32" : "indices64", nnz * indexWidth + values.Length),
            };
            var best = candidates.OrderBy(c => c.Size).First().Enc;
            long start = blob.Position;
            switch (best)
            {
                case "dense": blob.Write(raw); break;
                case "bitmask": blob.Write(bitmask); blob.Write(values); break;
                case "bitmask-deflate":
                    blob.Write(BitConverter.GetBytes((long)deflated.Length));
                    blob.Write(deflated);
                    blob.Write(values);
                    break;
                default:
                    var idx = new byte[nnz * indexWidth];
                    for (int j = 0; j < nnz; j++)
                        if (indexWidth == 4) BinaryPrimitives.WriteUInt32LittleEndian(idx.AsSpan(j * 4), (uint)nonzero[j]);
                        else BinaryPrimitives.WriteInt64LittleEndian(idx.AsSpan(j * 8), nonzero[j]);
                    blob.Write(idx);
                    blob.Write(values);
                    break;
            }
            entries.Add(new Entry(name, dtype, cpu.shape, best, nnz, start, blob.Position - start));
        }
        byte[] header = HarnessJson.SerializeToUtf8Bytes(new Header(Version, entries, metadataJson));
        AtomicFile.Write(path, s =>
        {
            s.Write(Magic);
            Span<byte> len = stackalloc byte[8];
            BinaryPrimitives.WriteInt64LittleEndian(len, header.Length);
            s.Write(len);
            s.Write(header);
            blob.Position = 0;
            blob.CopyTo(s);
        });
    }

    /// <summary>Most dimensions of one tensor.</summary>
    public const int MaxRank = 32;

    /// <summary>Bytes one load may decode: an all-zero tensor takes no data bytes, so the file length alone does not
    /// bound them. 1 GiB is four times a dense EfficientNet-B7; files larger than 1/16 GiB may decode 16 × their length.</summary>
    public static long MaxDecodedBytes(long fileLength) => Math.Max(1L << 30, 16 * fileLength);

    /// <summary>Reads a sparse checkpoint. Whatever the file holds, the result is a state dict or a
    /// <see cref="CheckpointFormatException"/> naming the file: every size in the header is checked against the file
    /// and <see cref="MaxDecodedBytes"/> before any buffer is sized.</summary>
    public static StateDict Load(string path) => LoadWithMetadata(path).StateDict;

    /// <summary><see cref="Load"/> with the metadata record the file carries (null when none).</summary>
    public static (StateDict StateDict, string? Metadata) LoadWithMetadata(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"sparse checkpoint '{path}' does not exist", path);
        byte[] file = File.ReadAllBytes(path);
        if (file.Length < 16 || !file.AsSpan(0, 8).SequenceEqual(Magic))
            throw new CheckpointFormatException($"{path}: not a Harness sparse checkpoint (magic 'HSPARSE1' missing)");
        long headerLen = BinaryPrimitives.ReadInt64LittleEndian(file.AsSpan(8));
        if (headerLen < 2 || headerLen > file.Length - 16)
            throw new CheckpointFormatException($"{path}: sparse checkpoint header is truncated (declares {headerLen} bytes)");
        Header header;
        try
        {
            header = HarnessJson.Deserialize<Header>(file.AsSpan(16, (int)headerLen))
                     ?? throw new CheckpointFormatException($"{path}: empty header");
        }
        catch (JsonException ex)
        {
            throw new CheckpointFormatException($"{path}: sparse checkpoint header is not valid JSON ({ex.Message})", ex);
        }
        if (header.Version != Version)
            throw new CheckpointFormatException($"{path}: sparse format version {header.Version} is not supported (expected {Version})");
        if (header.Tensors is null || header.Tensors.Any(e => e is null))
            throw new CheckpointFormatException($"{path}: sparse checkpoint header has no tensor list or a null entry");
        long dataStart = 16 + headerLen, dataLength = file.Length - dataStart;
        long budget = MaxDecodedBytes(file.Length);
        var sd = new StateDict();
        try
        {
            foreach (var e in header.Tensors)
            {
                if (e.Name is null) throw new CheckpointFormatException($"{path}: a tensor entry has no name");
                if (sd.ContainsKey(e.Name)) throw new CheckpointFormatException($"{path}: tensor '{e.Name}' appears twice");
                if (e.Offset < 0 || e.Length < 0 || e.Offset > dataLength - e.Length)
                    throw new CheckpointFormatException($"{path}: tensor '{e.Name}' lies outside the file (truncated?)");
                var dtype = DTypes.FirstOrDefault(kv => kv.Value == e.Dtype);
                if (dtype.Value is null) throw new CheckpointFormatException($"{path}: tensor '{e.Name}' has unknown dtype '{e.Dtype}'");
                long numel = Numel(e, path);
                int es = ElementSize(dtype.Key);
                long bytes = numel <= long.MaxValue / es ? numel * es : long.MaxValue;
                if (bytes > budget || bytes > Array.MaxLength)
                    throw new CheckpointFormatException(
                        $"{path}: tensor '{e.Name}' would decode to {bytes} bytes, beyond the {MaxDecodedBytes(file.Length)} bytes this file may decode (decoding budget)");
                budget -= bytes;
                var section = file.AsSpan((int)(dataStart + e.Offset), (int)e.Length);
                byte[] raw = Decode(section, e, numel, es, path);
                var t = empty(e.Shape, dtype.Key);
                if (raw.Length > 0) t.bytes = raw;
                sd.Add(e.Name, t);
            }
            return (sd, header.Metadata);
        }
        catch
        {
            sd.Dispose();
            throw;
        }
    }

    private static long Numel(Entry e, string path)
    {
        string shape = e.Shape is null ? "null" : $"[{string.Join(", ", e.Shape)}]";
        if (e.Shape is null || e.Shape.Length > MaxRank || e.Shape.Any(d => d < 0))
            throw new CheckpointFormatException(
                $"{path}: tensor '{e.Name}' has shape {shape}; a shape is a list of at most {MaxRank} non-negative sizes");
        try
        {
            // The product of the non-zero sizes must fit too: libtorch computes strides from it even for empty tensors.
            _ = e.Shape.Aggregate(1L, (n, d) => checked(n * Math.Max(d, 1)));
            return e.Shape.Aggregate(1L, (n, d) => checked(n * d));
        }
        catch (OverflowException)
        {
            throw new CheckpointFormatException($"{path}: tensor '{e.Name}' has shape {shape}, whose element count overflows");
        }
    }

    private static int ElementSize(ScalarType type) => type switch
    {
        ScalarType.Float64 or ScalarType.Int64 => 8,
        ScalarType.Float32 or ScalarType.Int32 => 4,
        ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Int16 => 2,
        _ => 1,
    };

    /// <summary>Decodes one section; every length is checked before the output (numel × es bytes, within the
    /// caller's budget) is allocated.</summary>
    private static byte[] Decode(ReadOnlySpan<byte> section, Entry e, long numel, int es, string path)
    {
        long nnz = e.Nonzero;
        CheckpointFormatException Bad() => new($"{path}: tensor '{e.Name}' ({e.Encoding}) is corrupt or truncated");
        if (nnz < 0 || nnz > numel) throw Bad();
        long valueBytes = nnz * es;
        long maskLen = (numel + 7) / 8;
        switch (e.Encoding)
        {
            case "dense":
                {
                    if (section.Length != numel * es) throw Bad();
                    return section.ToArray();
                }
            case "bitmask":
            case "bitmask-deflate":
                {
                    byte[] bitmask;
                    ReadOnlySpan<byte> values;
                    if (e.Encoding == "bitmask")
                    {
                        if (section.Length != maskLen + valueBytes) throw Bad();
                        bitmask = section[..(int)maskLen].ToArray();
                        values = section[(int)maskLen..];
                    }
                    else
                    {
                        if (section.Length < 8) throw Bad();
                        long defLen = BinaryPrimitives.ReadInt64LittleEndian(section);
                        if (defLen < 0 || defLen != section.Length - 8 - valueBytes) throw Bad();
                        bitmask = Inflate(section.Slice(8, (int)defLen).ToArray(), (int)maskLen, Bad);
                        values = section[(8 + (int)defLen)..];
                    }
                    var raw = new byte[numel * es];
                    int j = 0;
                    for (long i = 0; i < numel; i++)
                    {
                        if ((bitmask[i >> 3] & (1 << (int)(i & 7))) == 0) continue;
                        if (j >= nnz) throw Bad();
                        values.Slice(j * es, es).CopyTo(raw.AsSpan((int)(i * es)));
                        j++;
                    }
                    if (j != nnz) throw Bad();
                    return raw;
                }
            case "indices32":
            case "indices64":
                {
                    int w = e.Encoding == "indices32" ? 4 : 8;
                    if (section.Length != nnz * (w + es)) throw Bad();
                    var raw = new byte[numel * es];
                    var values = section[(int)(nnz * w)..];
                    long previous = -1;
                    for (int j = 0; j < nnz; j++)
                    {
                        long i = w == 4 ? BinaryPrimitives.ReadUInt32LittleEndian(section[(j * 4)..]) : BinaryPrimitives.ReadInt64LittleEndian(section[(j * 8)..]);
                        if (i <= previous || i >= numel) throw Bad(); // increasing, as the format says
                        values.Slice(j * es, es).CopyTo(raw.AsSpan((int)(i * es)));
                        previous = i;
                    }
                    return raw;
                }
            default:
                throw new CheckpointFormatException($"{path}: tensor '{e.Name}' has unknown encoding '{e.Encoding}'");
        }
    }

    private static byte[] Deflate(byte[] data)
    {
        using var ms = new MemoryStream();
        using (var d = new DeflateStream(ms, CompressionLevel.SmallestSize, leaveOpen: true)) d.Write(data);
        return ms.ToArray();
    }

    private static byte[] Inflate(byte[] data, int expected, Func<CheckpointFormatException> bad)
    {
        try
        {
            using var d = new DeflateStream(new MemoryStream(data), CompressionMode.Decompress);
            var result = new byte[expected];
            d.ReadExactly(result);
            return result;
        }
        catch (Exception ex) when (ex is InvalidDataException or EndOfStreamException)
        {
            throw bad();
        }
    }


    /// <summary>Bytes the sparse file of a model would take (written to a temporary file, measured, deleted).</summary>
    public static long MeasureBytes(nn.Module model)
    {
        string tmp = Path.Combine(Path.GetTempPath(), $"harness-sparse-{Guid.NewGuid():N}.hsp");
        try
        {
            using var sd = StateDict.FromModule(model);
            Save(tmp, sd);
            return new FileInfo(tmp).Length;
        }
        finally
        {
            if (File.Exists(tmp)) File.Delete(tmp);
        }
    }
}
