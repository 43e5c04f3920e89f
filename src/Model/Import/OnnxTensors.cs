using Harness.OnnxSchema;
using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace Harness.Model.Import;

/// <summary>ONNX tensors (initializers, Constant values) as TorchSharp tensors, every size checked against the bytes
/// that hold it before anything is allocated; external data is read only from files inside the model's folder.</summary>
internal static class OnnxTensors
{
    /// <summary>Most elements one tensor may declare.</summary>
    public const long MaxElements = 1L << 30;

    public static Tensor Read(TensorProto t, string what, string modelFolder)
    {
        long count = 1;
        foreach (long d in t.Dims)
        {
            if (d < 0 || d > MaxElements) throw new InvalidDataException($"{what}: dimension {d} is out of range");
            count *= d;
            if (count > MaxElements) throw new InvalidDataException($"{what}: declares more than {MaxElements} elements");
        }
        var dims = t.Dims.ToArray();
        var type = (TensorProto.Types.DataType)t.DataType;
        int size = type switch
        {
            TensorProto.Types.DataType.Float or TensorProto.Types.DataType.Int32 => 4,
            TensorProto.Types.DataType.Int64 or TensorProto.Types.DataType.Double => 8,
            TensorProto.Types.DataType.Float16 => 2,
            TensorProto.Types.DataType.Int8 or TensorProto.Types.DataType.Uint8 => 1,
            _ => throw new InvalidDataException($"{what}: data type {type} is not supported (float, float16, double, int8, uint8, int32, int64)"),
        };
        byte[]? raw = null;
        if (t.DataLocation == TensorProto.Types.DataLocation.External)
            raw = External(t, what, modelFolder, count * size);
        else if (!t.RawData.IsEmpty)
        {
            if (t.RawData.Length != count * size)
                throw new InvalidDataException($"{what}: declares {count} elements ({count * size} bytes) but holds {t.RawData.Length} bytes");
            raw = t.RawData.ToByteArray();
        }
        if (raw is not null)
            return type switch
            {
                TensorProto.Types.DataType.Float => tensor(MemoryMarshal.Cast<byte, float>(raw).ToArray()).reshape(dims),
                TensorProto.Types.DataType.Double => tensor(MemoryMarshal.Cast<byte, double>(raw).ToArray()).to(float32).reshape(dims),
                TensorProto.Types.DataType.Int64 => tensor(MemoryMarshal.Cast<byte, long>(raw).ToArray(), int64).reshape(dims),
                TensorProto.Types.DataType.Int32 => tensor(MemoryMarshal.Cast<byte, int>(raw).ToArray().Select(v => (long)v).ToArray(), int64).reshape(dims),
                TensorProto.Types.DataType.Int8 => tensor(MemoryMarshal.Cast<byte, sbyte>(raw).ToArray().Select(v => (long)v).ToArray(), int64).reshape(dims),
                TensorProto.Types.DataType.Uint8 => tensor(raw.Select(v => (long)v).ToArray(), int64).reshape(dims),
                _ => tensor(MemoryMarshal.Cast<byte, Half>(raw).ToArray().Select(v => (float)v).ToArray()).reshape(dims),
            };
        int held = type switch
        {
            TensorProto.Types.DataType.Float => t.FloatData.Count,
            TensorProto.Types.DataType.Double => t.DoubleData.Count,
            TensorProto.Types.DataType.Int64 => t.Int64Data.Count,
            _ => t.Int32Data.Count,
        };
        if (held != count) throw new InvalidDataException($"{what}: declares {count} elements but holds {held}");
        return type switch
        {
            TensorProto.Types.DataType.Float => tensor(t.FloatData.ToArray()).reshape(dims),
            TensorProto.Types.DataType.Double => tensor(t.DoubleData.ToArray()).to(float32).reshape(dims),
            TensorProto.Types.DataType.Int64 => tensor(t.Int64Data.ToArray(), int64).reshape(dims),
            TensorProto.Types.DataType.Int32 => tensor(t.Int32Data.Select(v => (long)v).ToArray(), int64).reshape(dims),
            TensorProto.Types.DataType.Int8 => tensor(t.Int32Data.Select(v => v is >= sbyte.MinValue and <= sbyte.MaxValue ? (long)v
                : throw new InvalidDataException($"{what}: int8 value {v} out of range")).ToArray(), int64).reshape(dims),
            TensorProto.Types.DataType.Uint8 => tensor(t.Int32Data.Select(v => v is >= 0 and <= byte.MaxValue ? (long)v
                : throw new InvalidDataException($"{what}: uint8 value {v} out of range")).ToArray(), int64).reshape(dims),
            _ => tensor(t.Int32Data.Select(v => (float)BitConverter.UInt16BitsToHalf((ushort)v)).ToArray()).reshape(dims),
        };
    }

    /// <summary>The bytes of an external-data tensor: its <c>location</c> must name a regular file inside the model's
    /// folder (no absolute path, no <c>..</c> out of it, no link leading elsewhere) holding <c>offset</c> +
    /// <paramref name="bytes"/> bytes.</summary>
    private static byte[] External(TensorProto t, string what, string folder, long bytes)
    {
        var entries = t.ExternalData.ToDictionary(e => e.Key, e => e.Value, StringComparer.Ordinal);
        if (!entries.TryGetValue("location", out var location) || location.Length == 0)
            throw new InvalidDataException($"{what}: external data without a location");
        long offset = entries.TryGetValue("offset", out var o) && long.TryParse(o, out var ov) ? ov : 0;
        long length = entries.TryGetValue("length", out var l) && long.TryParse(l, out var lv) ? lv : bytes;
        if (offset < 0 || length != bytes)
            throw new InvalidDataException($"{what}: external data of {length} bytes at offset {offset}, expected {bytes} bytes");
        string root = Path.GetFullPath(folder);
        string path = Path.GetFullPath(Path.Combine(root, location));
        if (Path.IsPathRooted(location) || !path.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            throw new InvalidDataException($"{what}: external data '{location}' is outside the model's folder {root}; refused");
        var info = new FileInfo(path);
        if (!info.Exists) throw new InvalidDataException($"{what}: external data file '{location}' does not exist beside the model");
        if (info.LinkTarget is not null)
        {
            string target = Path.GetFullPath(info.ResolveLinkTarget(true)!.FullName);
            if (!target.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal))
                throw new InvalidDataException($"{what}: external data '{location}' links outside the model's folder; refused");
        }
        if (offset + bytes > info.Length)
            throw new InvalidDataException($"{what}: external data '{location}' has {info.Length} bytes, fewer than offset {offset} + {bytes}");
        var buffer = new byte[bytes];
        using var stream = File.OpenRead(path);
        stream.Seek(offset, SeekOrigin.Begin);
        stream.ReadExactly(buffer);
        return buffer;
    }
}
