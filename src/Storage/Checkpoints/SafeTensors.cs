using Harness.Storage.Files;
using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using static TorchSharp.torch;

namespace Harness.Storage.Checkpoints;

/// <summary>
/// The safetensors format (Hugging Face's, https://huggingface.co/docs/safetensors): an unsigned 64-bit
/// little-endian header length N, N bytes of UTF-8 JSON mapping each tensor name to
/// <c>{"dtype", "shape", "data_offsets": [begin, end]}</c> (offsets into the data buffer that follows) plus an optional
/// <c>"__metadata__"</c> object of strings, then the tensors' bytes, little-endian, row-major. Harness writes its widths
/// record as the metadata entry <see cref="MetadataKey"/>. The reader trusts nothing: the header's size and JSON,
/// every dtype, shape and offset are checked against the file (offsets must tile the buffer exactly, as the format
/// requires) before any tensor is made, and anything else is a <see cref="CheckpointFormatException"/> naming the file.
/// </summary>
public static class SafeTensors
{
    public const string MetadataKey = "harness";

    /// <summary>Largest header accepted (the reference implementation's limit).</summary>
    public const long MaxHeaderBytes = 100_000_000;

    private static readonly Dictionary<string, (ScalarType Type, int Size)> DTypes = new()
    {
        ["F64"] = (ScalarType.Float64, 8),
        ["F32"] = (ScalarType.Float32, 4),
        ["F16"] = (ScalarType.Float16, 2),
        ["BF16"] = (ScalarType.BFloat16, 2),
        ["I64"] = (ScalarType.Int64, 8),
        ["I32"] = (ScalarType.Int32, 4),
        ["I16"] = (ScalarType.Int16, 2),
        ["I8"] = (ScalarType.Int8, 1),
        ["U8"] = (ScalarType.Byte, 1),
        ["BOOL"] = (ScalarType.Bool, 1),
    };

    /// <summary>True when the file starts as a safetensors file does (a plausible header length, then '{').</summary>
    public static bool Looks(ReadOnlySpan<byte> start) =>
        start.Length >= 9 && BinaryPrimitives.ReadUInt64LittleEndian(start) is > 1 and <= MaxHeaderBytes && start[8] == (byte)'{';

    public static void Save(string path, StateDict stateDict, string? metadataJson = null)
    {
        using var header = new MemoryStream();
        var data = new List<byte[]>();
        long offset = 0;
        using (var json = new Utf8JsonWriter(header))
        {
            json.WriteStartObject();
            if (metadataJson is not null)
            {
                json.WriteStartObject("__metadata__");
                json.WriteString(MetadataKey, metadataJson);
                json.WriteEndObject();
            }
            foreach (var (name, tensor) in stateDict.Items)
            {
                if (name == "__metadata__") throw new ArgumentException("a tensor may not be named __metadata__");
                using var cpu = tensor.detach().cpu().contiguous();
                var dtype = DTypes.FirstOrDefault(kv => kv.Value.Type == cpu.dtype);
                if (dtype.Key is null) throw new NotSupportedException($"tensor '{name}' has dtype {cpu.dtype}, which safetensors does not store");
                byte[] raw = cpu.numel() == 0 ? [] : cpu.bytes.ToArray();
                json.WriteStartObject(name);
                json.WriteString("dtype", dtype.Key);
                json.WriteStartArray("shape");
                foreach (var d in cpu.shape) json.WriteNumberValue(d);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(offset + raw.Length);
                json.WriteEndArray();
                json.WriteEndObject();
                data.Add(raw);
                offset += raw.Length;
            }
            json.WriteEndObject();
        }
        // The header is padded with spaces to a multiple of 8 bytes, so that the data buffer starts aligned.
        long padded = (header.Length + 7) / 8 * 8;
        while (header.Length < padded) header.WriteByte((byte)' ');
        AtomicFile.Write(path, s =>
        {
            Span<byte> len = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)header.Length);
            s.Write(len);
            header.Position = 0;
            header.CopyTo(s);
            foreach (var raw in data) s.Write(raw);
        });
    }

    public static StateDict Load(string path) => LoadWithMetadata(path).StateDict;

    /// <summary>The tensors, in the header's order, and Harness's metadata entry (null when the file has none).</summary>
    public static (StateDict StateDict, string? Metadata) LoadWithMetadata(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"safetensors file '{path}' does not exist", path);
        byte[] file = File.ReadAllBytes(path);
        CheckpointFormatException Bad(string what) => new($"{path}: not a valid safetensors file ({what})");
        if (file.Length < 8) throw Bad("shorter than its 8-byte header length");
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(file);
        if (n < 2 || n > MaxHeaderBytes || n > (ulong)(file.Length - 8)) throw Bad($"the header length {n} does not fit the file of {file.Length} bytes");
        var dataStart = 8 + (long)n;
        long dataLength = file.Length - dataStart;
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(new UTF8Encoding(false, true).GetString(file, 8, (int)n));
        }
        catch (Exception ex) when (ex is JsonException or DecoderFallbackException)
        {
            throw Bad($"its header is not UTF-8 JSON: {ex.Message}");
        }
        using var parsed = doc;
        if (doc.RootElement.ValueKind != JsonValueKind.Object) throw Bad("its header is not a JSON object");
        string? metadata = null;
        var entries = new List<(string Name, ScalarType Type, int Size, long[] Shape, long Begin, long End)>();
        foreach (var p in doc.RootElement.EnumerateObject())
        {
            if (p.Name == "__metadata__")
            {
                if (p.Value.ValueKind != JsonValueKind.Object || p.Value.EnumerateObject().Any(m => m.Value.ValueKind != JsonValueKind.String))
                    throw Bad("__metadata__ is not an object of strings");
                if (p.Value.TryGetProperty(MetadataKey, out var h)) metadata = h.GetString();
                continue;
            }
            var e = p.Value;
            if (e.ValueKind != JsonValueKind.Object || !e.TryGetProperty("dtype", out var dt) || dt.ValueKind != JsonValueKind.String
                || !e.TryGetProperty("shape", out var sh) || sh.ValueKind != JsonValueKind.Array
                || !e.TryGetProperty("data_offsets", out var off) || off.ValueKind != JsonValueKind.Array || off.GetArrayLength() != 2)
                throw Bad($"tensor '{p.Name}' needs dtype, shape and two data_offsets");
            if (!DTypes.TryGetValue(dt.GetString()!, out var type)) throw Bad($"tensor '{p.Name}' has dtype '{dt.GetString()}', which Harness does not read");
            if (sh.GetArrayLength() > SparseCheckpoint.MaxRank || sh.EnumerateArray().Any(d => d.ValueKind != JsonValueKind.Number || !d.TryGetInt64(out long v) || v < 0))
                throw Bad($"tensor '{p.Name}' has a shape that is not a list of at most {SparseCheckpoint.MaxRank} non-negative integers");
            long[] shape = sh.EnumerateArray().Select(d => d.GetInt64()).ToArray();
            if (off.EnumerateArray().Any(d => d.ValueKind != JsonValueKind.Number || !d.TryGetInt64(out long v) || v < 0))
                throw Bad($"tensor '{p.Name}' has data_offsets that are not non-negative integers");
            long begin = off[0].GetInt64(), end = off[1].GetInt64();
            long bytes;
            try
            {
                _ = shape.Aggregate(1L, (a, d) => checked(a * Math.Max(d, 1)));
                bytes = checked(shape.Aggregate(1L, (a, d) => checked(a * d)) * type.Size);
            }
            catch (OverflowException)
            {
                throw Bad($"tensor '{p.Name}' has a shape whose size overflows");
            }
            if (end < begin || end > dataLength || end - begin != bytes)
                throw Bad($"tensor '{p.Name}' ({dt.GetString()} [{string.Join(", ", shape)}], {bytes} bytes) has data_offsets [{begin}, {end}] in a buffer of {dataLength} bytes");
            if (entries.Any(x => x.Name == p.Name)) throw Bad($"tensor '{p.Name}' appears twice");
            entries.Add((p.Name, type.Type, type.Size, shape, begin, end));
        }
        // The offsets must tile the buffer: no gap, no overlap, nothing after the last tensor.
        long covered = 0;
        foreach (var e in entries.OrderBy(e => e.Begin).ThenBy(e => e.End))
        {
            if (e.Begin != covered) throw Bad($"tensor '{e.Name}' starts at {e.Begin}, not where the previous one ended ({covered}): a gap or an overlap");
            covered = e.End;
        }
        if (covered != dataLength) throw Bad($"the tensors cover {covered} of the {dataLength} data bytes");
        var sd = new StateDict();
        try
        {
            foreach (var e in entries)
            {
                var t = empty(e.Shape, e.Type);
                if (e.End > e.Begin) t.bytes = file.AsSpan((int)(dataStart + e.Begin), (int)(e.End - e.Begin));
                sd.Add(e.Name, t);
            }
            return (sd, metadata);
        }
        catch
        {
            sd.Dispose();
            throw;
        }
    }
}
