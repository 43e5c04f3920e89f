using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using System.Text.Json;
using Harness.Model.Checkpoints;
using static TorchSharp.torch;

namespace Harness.Pruning.FineGrained;

/// <summary>
/// A checkpoint format whose size falls with density (layout in docs/sparse-checkpoint-format.md): per tensor the
/// smallest of dense values, a bitmask plus the nonzero values, a deflated bitmask plus the values, or an index
/// list plus the values. "Zero" means all bits zero, so −0.0, NaN and infinities survive bit-exactly.
/// </summary>
public static class SparseCheckpoint
{
    public static ReadOnlySpan<byte> Magic => "HSPARSE1"u8;
    public const int Version = 1;

    private static readonly Dictionary<ScalarType, string> DTypes = new()
    {
        [ScalarType.Float32] = "float32", [ScalarType.Float64] = "float64", [ScalarType.Float16] = "float16",
        [ScalarType.BFloat16] = "bfloat16", [ScalarType.Int64] = "int64", [ScalarType.Int32] = "int32",
        [ScalarType.Int16] = "int16", [ScalarType.Int8] = "int8", [ScalarType.Byte] = "uint8", [ScalarType.Bool] = "bool",
    };

    public sealed record Entry(string Name, string Dtype, long[] Shape, string Encoding, long Nonzero, long Offset, long Length);

    private sealed record Header(int Version, List<Entry> Tensors);

    public static void Save(string path, StateDict stateDict)
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
        byte[] header = JsonSerializer.SerializeToUtf8Bytes(new Header(Version, entries), JsonOptions);
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

    public static StateDict Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"sparse checkpoint '{path}' does not exist", path);
        byte[] file = File.ReadAllBytes(path);
        if (file.Length < 16 || !file.AsSpan(0, 8).SequenceEqual(Magic))
            throw new CheckpointFormatException($"{path}: not a Harness sparse checkpoint (magic 'HSPARSE1' missing)");
        long headerLen = BinaryPrimitives.ReadInt64LittleEndian(file.AsSpan(8));
        if (headerLen < 2 || 16 + headerLen > file.Length)
            throw new CheckpointFormatException($"{path}: sparse checkpoint header is truncated");
        Header header;
        try
        {
            header = JsonSerializer.Deserialize<Header>(file.AsSpan(16, (int)headerLen), JsonOptions)
                     ?? throw new CheckpointFormatException($"{path}: empty header");
        }
        catch (JsonException ex)
        {
            throw new CheckpointFormatException($"{path}: sparse checkpoint header is not valid JSON ({ex.Message})", ex);
        }
        if (header.Version != Version)
            throw new CheckpointFormatException($"{path}: sparse format version {header.Version} is not supported (expected {Version})");
        long dataStart = 16 + headerLen;
        var sd = new StateDict();
        try
        {
            foreach (var e in header.Tensors)
            {
                if (e.Offset < 0 || e.Length < 0 || dataStart + e.Offset + e.Length > file.Length)
                    throw new CheckpointFormatException($"{path}: tensor '{e.Name}' lies outside the file (truncated?)");
                var dtype = DTypes.FirstOrDefault(kv => kv.Value == e.Dtype);
                if (dtype.Value is null) throw new CheckpointFormatException($"{path}: tensor '{e.Name}' has unknown dtype '{e.Dtype}'");
                var t = empty(e.Shape, dtype.Key);
                int es = (int)t.ElementSize;
                long numel = t.numel();
                var section = file.AsSpan((int)(dataStart + e.Offset), (int)e.Length);
                byte[] raw = Decode(section, e, numel, es, path);
                if (raw.Length > 0) t.bytes = raw;
                sd.Add(e.Name, t);
            }
            return sd;
        }
        catch
        {
            sd.Dispose();
            throw;
        }
    }

    private static byte[] Decode(ReadOnlySpan<byte> section, Entry e, long numel, int es, string path)
    {
        var raw = new byte[numel * es];
        long nnz = e.Nonzero;
        CheckpointFormatException Bad() => new($"{path}: tensor '{e.Name}' ({e.Encoding}) is corrupt or truncated");
        switch (e.Encoding)
        {
            case "dense":
                if (section.Length != raw.Length) throw Bad();
                section.CopyTo(raw);
                return raw;
            case "bitmask":
            case "bitmask-deflate":
            {
                byte[] bitmask;
                ReadOnlySpan<byte> values;
                if (e.Encoding == "bitmask")
                {
                    int maskLen = (int)((numel + 7) / 8);
                    if (section.Length != maskLen + nnz * es) throw Bad();
                    bitmask = section[..maskLen].ToArray();
                    values = section[maskLen..];
                }
                else
                {
                    long defLen = BinaryPrimitives.ReadInt64LittleEndian(section);
                    if (section.Length != 8 + defLen + nnz * es) throw Bad();
                    bitmask = Inflate(section.Slice(8, (int)defLen).ToArray(), (int)((numel + 7) / 8), Bad);
                    values = section[(8 + (int)defLen)..];
                }
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
                var values = section[(int)(nnz * w)..];
                for (int j = 0; j < nnz; j++)
                {
                    long i = w == 4 ? BinaryPrimitives.ReadUInt32LittleEndian(section[(j * 4)..]) : BinaryPrimitives.ReadInt64LittleEndian(section[(j * 8)..]);
                    if (i < 0 || i >= numel) throw Bad();
                    values.Slice(j * es, es).CopyTo(raw.AsSpan((int)(i * es)));
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

    private static readonly JsonSerializerOptions JsonOptions = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

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
