using System.Buffers.Binary;
using System.Text;

namespace Harness.Storage.Checkpoints;

/// <summary>
/// Writes an uncompressed ("stored") zip the way PyTorch's archive writer does: each record's data starts on a
/// 64-byte boundary (padding goes into an extra field), so PyTorch can read (and memory-map) what Harness writes.
/// </summary>
internal sealed class ZipStoreWriter(Stream output)
{
    private const int Alignment = 64;
    private readonly List<(string Name, uint Crc, long Size, long Offset)> _entries = [];

    public void Add(string name, ReadOnlySpan<byte> data)
    {
        var nameBytes = Encoding.UTF8.GetBytes(name);
        long offset = output.Position;
        long dataStart = offset + 30 + nameBytes.Length + 4;
        int pad = (int)((Alignment - dataStart % Alignment) % Alignment);
        uint crc = Crc32.Compute(data);
        if (offset > uint.MaxValue - 1)
            throw new NotSupportedException($"zip record '{name}' is too large (zip64 is not written)");

        Span<byte> h = stackalloc byte[30];
        BinaryPrimitives.WriteUInt32LittleEndian(h, 0x04034b50);
        BinaryPrimitives.WriteUInt16LittleEndian(h[4..], 20); // version needed
        BinaryPrimitives.WriteUInt16LittleEndian(h[6..], 0x0800); // flags: UTF-8 names
        BinaryPrimitives.WriteUInt16LittleEndian(h[8..], 0); // stored
        BinaryPrimitives.WriteUInt16LittleEndian(h[10..], 0); // time
        BinaryPrimitives.WriteUInt16LittleEndian(h[12..], 0x21); // date 1980-01-01
        BinaryPrimitives.WriteUInt32LittleEndian(h[14..], crc);
        BinaryPrimitives.WriteUInt32LittleEndian(h[18..], (uint)data.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(h[22..], (uint)data.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(h[26..], (ushort)nameBytes.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(h[28..], (ushort)(4 + pad));
        output.Write(h);
        output.Write(nameBytes);
        Span<byte> extra = stackalloc byte[4];
        BinaryPrimitives.WriteUInt16LittleEndian(extra, 0x4246); // "FB": padding field, as PyTorch writes
        BinaryPrimitives.WriteUInt16LittleEndian(extra[2..], (ushort)pad);
        output.Write(extra);
        for (int i = 0; i < pad; i++) output.WriteByte((byte)'Z');
        output.Write(data);
        _entries.Add((name, crc, data.Length, offset));
    }

    public void Finish()
    {
        long cdStart = output.Position;
        Span<byte> c = stackalloc byte[46];
        foreach (var (name, crc, size, offset) in _entries)
        {
            var nameBytes = Encoding.UTF8.GetBytes(name);
            BinaryPrimitives.WriteUInt32LittleEndian(c, 0x02014b50);
            BinaryPrimitives.WriteUInt16LittleEndian(c[4..], 20);
            BinaryPrimitives.WriteUInt16LittleEndian(c[6..], 20);
            BinaryPrimitives.WriteUInt16LittleEndian(c[8..], 0x0800);
            BinaryPrimitives.WriteUInt16LittleEndian(c[10..], 0);
            BinaryPrimitives.WriteUInt16LittleEndian(c[12..], 0);
            BinaryPrimitives.WriteUInt16LittleEndian(c[14..], 0x21);
            BinaryPrimitives.WriteUInt32LittleEndian(c[16..], crc);
            BinaryPrimitives.WriteUInt32LittleEndian(c[20..], (uint)size);
            BinaryPrimitives.WriteUInt32LittleEndian(c[24..], (uint)size);
            BinaryPrimitives.WriteUInt16LittleEndian(c[28..], (ushort)nameBytes.Length);
            BinaryPrimitives.WriteUInt16LittleEndian(c[30..], 0); // extra
            BinaryPrimitives.WriteUInt16LittleEndian(c[32..], 0); // comment
            BinaryPrimitives.WriteUInt16LittleEndian(c[34..], 0); // disk
            BinaryPrimitives.WriteUInt16LittleEndian(c[36..], 0); // internal attrs
            BinaryPrimitives.WriteUInt32LittleEndian(c[38..], 0); // external attrs
            BinaryPrimitives.WriteUInt32LittleEndian(c[42..], (uint)offset);
            output.Write(c);
            output.Write(nameBytes);
        }
        long cdSize = output.Position - cdStart;
        Span<byte> e = stackalloc byte[22];
        BinaryPrimitives.WriteUInt32LittleEndian(e, 0x06054b50);
        BinaryPrimitives.WriteUInt16LittleEndian(e[8..], (ushort)_entries.Count);
        BinaryPrimitives.WriteUInt16LittleEndian(e[10..], (ushort)_entries.Count);
        BinaryPrimitives.WriteUInt32LittleEndian(e[12..], (uint)cdSize);
        BinaryPrimitives.WriteUInt32LittleEndian(e[16..], (uint)cdStart);
        output.Write(e);
    }
}
