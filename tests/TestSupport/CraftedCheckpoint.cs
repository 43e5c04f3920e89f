using Harness.Storage.Pickle;
using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace Harness.Tests.TestSupport;

/// <summary>
/// Builds checkpoint files byte by byte (the pickle torch.save writes for a list of <see cref="TensorRecord"/>s, a
/// stored zip around it) and edits zip header fields in place, so tests can describe a malformed file exactly.
/// </summary>
public static class CraftedCheckpoint
{
    public const uint LocalHeader = 0x04034b50;
    public const uint CentralHeader = 0x02014b50;
    public const uint EndOfCentralDirectory = 0x06054b50;

    /// <summary>The pickle of <c>OrderedDict(name → _rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict()))</c>.</summary>
    public static byte[] Pickle(params TensorRecord[] tensors)
    {
        var p = new PickleWriter();
        p.Global("collections", "OrderedDict");
        p.EmptyTuple();
        p.Reduce();
        p.Mark();
        foreach (var t in tensors)
        {
            p.String(t.Name);
            p.Global("torch._utils", "_rebuild_tensor_v2");
            p.Mark();
            p.Mark();
            p.String("storage");
            p.Global("torch", t.StorageType);
            p.String(t.Key);
            p.String("cpu");
            p.Int(t.StorageNumel);
            p.Tuple();
            p.BinPersId();
            p.Int(t.Offset);
            p.IntTuple(t.Size);
            p.IntTuple(t.Stride);
            p.Bool(false);
            p.Global("collections", "OrderedDict");
            p.EmptyTuple();
            p.Reduce();
            p.Tuple();
            p.Reduce();
        }
        p.SetItems();
        return p.Finish();
    }

    /// <summary>A stored (uncompressed) zip with <c>archive/data.pkl</c>, the given <c>archive/data/KEY</c> records
    /// and <c>archive/version</c>.</summary>
    public static void Write(string path, byte[] pickle, params (string Key, byte[] Data)[] storages) =>
        WriteZip(path, [("archive/data.pkl", pickle), .. storages.Select(s => ($"archive/data/{s.Key}", s.Data)),
            ("archive/version", "3\n"u8.ToArray())]);

    public static void WriteZip(string path, IEnumerable<(string Entry, byte[] Data)> records,
        CompressionLevel level = CompressionLevel.NoCompression) => File.WriteAllBytes(path, ZipBytes(records, level));

    /// <summary>The bytes of a zip holding <paramref name="records"/> in order, with correct sizes and CRCs.</summary>
    public static byte[] ZipBytes(IEnumerable<(string Entry, byte[] Data)> records,
        CompressionLevel level = CompressionLevel.NoCompression)
    {
        var ms = new MemoryStream();
        using (var zip = new ZipArchive(ms, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var (entry, data) in records)
            {
                using var s = zip.CreateEntry(entry, level).Open();
                s.Write(data);
            }
        }
        return ms.ToArray();
    }

    /// <summary>The records of a zip, in order.</summary>
    public static List<(string Entry, byte[] Data)> Records(byte[] zipBytes)
    {
        using var zip = new ZipArchive(new MemoryStream(zipBytes), ZipArchiveMode.Read);
        return zip.Entries.Select(e =>
        {
            using var s = e.Open();
            var ms = new MemoryStream();
            s.CopyTo(ms);
            return (e.FullName, ms.ToArray());
        }).ToList();
    }

    public static byte[] Floats(params float[] v) => v.SelectMany(BitConverter.GetBytes).ToArray();

    /// <summary>Offsets of every header with <paramref name="signature"/> (a plain scan; fine for test files).</summary>
    public static IReadOnlyList<int> HeaderOffsets(byte[] zip, uint signature)
    {
        var found = new List<int>();
        for (int i = 0; i + 4 <= zip.Length; i++)
            if (BinaryPrimitives.ReadUInt32LittleEndian(zip.AsSpan(i)) == signature) found.Add(i);
        return found;
    }

    /// <summary>Sets the compressed and uncompressed sizes that the local and central headers of
    /// <paramref name="entryName"/> declare.</summary>
    public static void SetDeclaredSizes(byte[] zip, string entryName, uint compressed, uint uncompressed)
    {
        byte[] name = Encoding.UTF8.GetBytes(entryName);
        int patched = 0;
        foreach (int at in HeaderOffsets(zip, LocalHeader))
            if (NameAt(zip, at + 30, zip.AsSpan(at + 26), name))
            {
                BinaryPrimitives.WriteUInt32LittleEndian(zip.AsSpan(at + 18), compressed);
                BinaryPrimitives.WriteUInt32LittleEndian(zip.AsSpan(at + 22), uncompressed);
                patched++;
            }
        foreach (int at in HeaderOffsets(zip, CentralHeader))
            if (NameAt(zip, at + 46, zip.AsSpan(at + 28), name))
            {
                BinaryPrimitives.WriteUInt32LittleEndian(zip.AsSpan(at + 20), compressed);
                BinaryPrimitives.WriteUInt32LittleEndian(zip.AsSpan(at + 24), uncompressed);
                patched++;
            }
        if (patched != 2) throw new ArgumentException($"zip has no single local + central header for '{entryName}'");
    }

    private static bool NameAt(byte[] zip, int at, ReadOnlySpan<byte> lengthField, byte[] name) =>
        BinaryPrimitives.ReadUInt16LittleEndian(lengthField) == name.Length && at + name.Length <= zip.Length
        && zip.AsSpan(at, name.Length).SequenceEqual(name);
}
