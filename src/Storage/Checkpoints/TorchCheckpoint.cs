using Harness.Storage.Files;
using Harness.Storage.Pickle;
using System.Text;
using static TorchSharp.torch;

namespace Harness.Storage.Checkpoints;

/// <summary>
/// PyTorch state-dict files in the zip format <c>torch.save</c> writes (<c>&lt;archive&gt;/data.pkl</c>,
/// <c>&lt;archive&gt;/data/&lt;key&gt;</c>, <c>version</c>, <c>byteorder</c>). Reading never executes pickle code:
/// only tensors and plain containers are rebuilt. Writing produces files that <c>torch.load</c> reads
/// (also with <c>weights_only=True</c>), atomically.
/// </summary>
public static class TorchCheckpoint
{
    /// <summary>The zip record (under the archive folder) where Harness keeps its own JSON metadata;
    /// <c>torch.load</c> ignores it.</summary>
    public const string MetadataRecord = "extra/harness.json";

    /// <summary>The storage classes a checkpoint may name, with their element types.</summary>
    public static IReadOnlyDictionary<string, ScalarType> StorageTypes { get; } = new Dictionary<string, ScalarType>
    {
        ["FloatStorage"] = ScalarType.Float32,
        ["DoubleStorage"] = ScalarType.Float64,
        ["HalfStorage"] = ScalarType.Float16,
        ["BFloat16Storage"] = ScalarType.BFloat16,
        ["LongStorage"] = ScalarType.Int64,
        ["IntStorage"] = ScalarType.Int32,
        ["ShortStorage"] = ScalarType.Int16,
        ["CharStorage"] = ScalarType.Int8,
        ["ByteStorage"] = ScalarType.Byte,
        ["BoolStorage"] = ScalarType.Bool,
    };

    /// <summary>The only globals data.pkl may name (everything else is a <c>PickleSecurityException</c>).</summary>
    public static IReadOnlyList<string> AllowedGlobals { get; } =
    [
        "collections.OrderedDict",
        "torch._utils._rebuild_tensor_v2",
        "torch._utils._rebuild_parameter",
        .. StorageTypes.Keys.Select(k => $"torch.{k}"),
    ];

    /// <summary>Reads a state dict. Any file that is not a readable checkpoint, however crafted, ends in a
    /// <see cref="CheckpointFormatException"/> naming the file and the problem, within <see cref="CheckpointLimits"/>.</summary>
    public static StateDict Load(string path) => WithRecords(path, zip => new CheckpointReader(zip, path).Read());

    /// <summary>Harness's JSON metadata stored in a checkpoint (at most <see cref="CheckpointLimits.MaxMetadataBytes"/>),
    /// or null when it has none.</summary>
    public static string? ReadMetadata(string path) => WithRecords(path, zip =>
    {
        var entry = zip.Entries.FirstOrDefault(e => e.FullName.EndsWith("/" + MetadataRecord, StringComparison.Ordinal));
        if (entry is null) return null;
        try
        {
            return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(zip.Read(entry, CheckpointLimits.MaxMetadataBytes));
        }
        catch (DecoderFallbackException ex)
        {
            throw new CheckpointFormatException($"{path}: record '{entry.FullName}' is not UTF-8 text", ex);
        }
    });

    private static T WithRecords<T>(string path, Func<ZipRecords, T> read)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"checkpoint '{path}' does not exist", path);
        try
        {
            using var zip = ZipRecords.Open(path);
            return read(zip);
        }
        catch (InvalidDataException ex)
        {
            throw new CheckpointFormatException(
                $"{path}: not a PyTorch checkpoint (expected the zip format torch.save writes; {ex.Message})", ex);
        }
        catch (EndOfStreamException ex)
        {
            throw new CheckpointFormatException($"{path}: checkpoint is truncated ({ex.Message})", ex);
        }
    }

    /// <summary>Saves a module's state dict (PyTorch order) to <paramref name="path"/>.</summary>
    public static void Save(string path, nn.Module module, string? metadataJson = null)
    {
        using var sd = StateDict.FromModule(module);
        Save(path, sd, metadataJson);
    }

    /// <summary>Writes <paramref name="stateDict"/> in torch.save's zip format, atomically.</summary>
    public static void Save(string path, StateDict stateDict, string? metadataJson = null)
    {
        string archive = ArchiveName(path);
        var pickle = new PickleWriter();
        var records = new List<(string Name, byte[] Data)>();
        pickle.Global("collections", "OrderedDict");
        pickle.EmptyTuple();
        pickle.Reduce();
        pickle.Mark();
        int storageKey = 0;
        foreach (var (name, tensor) in stateDict.Items)
        {
            using var cpu = tensor.detach().cpu().contiguous();
            string storageType = StorageTypes.First(kv => kv.Value == cpu.dtype).Key;
            string key = (storageKey++).ToString(System.Globalization.CultureInfo.InvariantCulture);
            records.Add(($"{archive}/data/{key}", cpu.numel() == 0 ? [] : cpu.bytes.ToArray()));
            pickle.String(name);
            pickle.Global("torch._utils", "_rebuild_tensor_v2");
            pickle.Mark();
            pickle.Mark();
            pickle.String("storage");
            pickle.Global("torch", storageType);
            pickle.String(key);
            pickle.String("cpu");
            pickle.Int(cpu.numel());
            pickle.Tuple();
            pickle.BinPersId();
            pickle.Int(0);
            pickle.IntTuple(cpu.shape);
            pickle.IntTuple(cpu.stride());
            pickle.Bool(false);
            pickle.Global("collections", "OrderedDict");
            pickle.EmptyTuple();
            pickle.Reduce();
            pickle.Tuple();
            pickle.Reduce();
        }
        pickle.SetItems();
        byte[] pkl = pickle.Finish();

        AtomicFile.Write(path, stream =>
        {
            var zip = new ZipStoreWriter(stream);
            zip.Add($"{archive}/data.pkl", pkl);
            zip.Add($"{archive}/byteorder", "little"u8);
            foreach (var (name, data) in records) zip.Add(name, data);
            if (metadataJson is not null) zip.Add($"{archive}/{MetadataRecord}", Encoding.UTF8.GetBytes(metadataJson));
            zip.Add($"{archive}/version", "3\n"u8);
            zip.Add($"{archive}/.data/serialization_id", Encoding.ASCII.GetBytes(Guid.NewGuid().ToString("N")));
            zip.Finish();
        });
    }

    private static string ArchiveName(string path)
    {
        string stem = Path.GetFileNameWithoutExtension(path);
        var clean = new string(stem.Select(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.' ? c : '_').ToArray());
        return clean.Length == 0 ? "archive" : clean;
    }
}
