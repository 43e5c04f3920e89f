using System.IO.Compression;

namespace Harness.Storage.Checkpoints;

/// <summary>
/// The records of one zip file, read under <see cref="CheckpointLimits"/>: every declared size is checked against the
/// file length, the compression-ratio cap and the load's total budget before a buffer is sized, a buffer never grows
/// past the declared size, and the bytes must match the record's CRC-32.
/// </summary>
internal sealed class ZipRecords : IDisposable
{
    private readonly ZipArchive _zip;
    private readonly string _path;
    private readonly long _fileLength;
    private long _budget;

    private ZipRecords(ZipArchive zip, string path, long fileLength)
    {
        _zip = zip;
        _path = path;
        _fileLength = fileLength;
        _budget = checked(CheckpointLimits.MaxCompressionRatio * Math.Max(fileLength, 1));
    }

    /// <summary>Opens <paramref name="path"/>; a file that is not a zip is an <see cref="InvalidDataException"/>.</summary>
    public static ZipRecords Open(string path)
    {
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        try
        {
            return new ZipRecords(new ZipArchive(stream, ZipArchiveMode.Read, leaveOpen: false), path, stream.Length);
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    public IReadOnlyCollection<ZipArchiveEntry> Entries => _zip.Entries;

    public ZipArchiveEntry? Get(string name) => _zip.GetEntry(name);

    /// <summary>The bytes of <paramref name="entry"/>, which may declare at most <paramref name="maxBytes"/>.</summary>
    public byte[] Read(ZipArchiveEntry entry, long maxBytes = long.MaxValue)
    {
        long declared = entry.Length, stored = entry.CompressedLength;
        string name = entry.FullName;
        if (stored < 0 || stored > _fileLength)
            throw Bad($"record '{name}' declares {stored} compressed bytes but the file has {_fileLength}");
        maxBytes = Math.Min(maxBytes, CheckpointLimits.MaxRecordBytes);
        if (declared < 0 || declared > maxBytes)
            throw Bad($"record '{name}' declares {declared} bytes; at most {maxBytes} are read");
        if (declared > (double)CheckpointLimits.MaxCompressionRatio * Math.Max(stored, 1))
            throw Bad($"record '{name}' declares {declared} bytes from {stored} compressed bytes, beyond the compression-ratio cap of {CheckpointLimits.MaxCompressionRatio}:1");
        if (declared > _budget)
            throw Bad($"records read would exceed {CheckpointLimits.MaxCompressionRatio} × the file's {_fileLength} bytes (at '{name}')");
        _budget -= declared;
        var buffer = new byte[declared];
        try
        {
            using var s = entry.Open();
            int read = s.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
            if (read < declared) throw Bad($"record '{name}' is truncated ({read} of {declared} bytes)");
            if (s.ReadByte() != -1) throw Bad($"record '{name}' holds more bytes than the {declared} its header declares");
        }
        catch (InvalidDataException ex)
        {
            throw new CheckpointFormatException($"{_path}: record '{name}' is corrupt or truncated ({ex.Message})", ex);
        }
        if (Crc32.Compute(buffer) != entry.Crc32)
            throw Bad($"record '{name}' does not match its CRC-32 (the file is corrupt)");
        return buffer;
    }

    private CheckpointFormatException Bad(string what) => new($"{_path}: {what}");

    public void Dispose() => _zip.Dispose();
}
