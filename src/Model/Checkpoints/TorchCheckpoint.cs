using System.IO.Compression;
using System.Text;
using Harness.Model.Pickle;
using TorchSharp;
using static TorchSharp.torch;

namespace Harness.Model.Checkpoints;

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

    private static readonly Dictionary<string, ScalarType> StorageTypes = new()
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

    private static readonly string[] AllowedGlobals =
    [
        "collections.OrderedDict",
        "torch._utils._rebuild_tensor_v2",
        "torch._utils._rebuild_parameter",
        .. StorageTypes.Keys.Select(k => $"torch.{k}"),
    ];

    private sealed record StorageRef(ScalarType Type, string Key, long Numel);

    public static StateDict Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"checkpoint '{path}' does not exist", path);
        try
        {
            using var zip = ZipFile.OpenRead(path);
            return Read(zip, path);
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

    /// <summary>Harness's JSON metadata stored in a checkpoint, or null when it has none.</summary>
    public static string? ReadMetadata(string path)
    {
        try
        {
            using var zip = ZipFile.OpenRead(path);
            var entry = zip.Entries.FirstOrDefault(e => e.FullName.EndsWith("/" + MetadataRecord, StringComparison.Ordinal));
            if (entry is null) return null;
            using var r = new StreamReader(entry.Open(), Encoding.UTF8);
            return r.ReadToEnd();
        }
        catch (InvalidDataException ex)
        {
            throw new CheckpointFormatException($"{path}: not a PyTorch checkpoint ({ex.Message})", ex);
        }
    }

    private static StateDict Read(ZipArchive zip, string path)
    {
        var pkl = zip.Entries.FirstOrDefault(e => e.FullName.EndsWith("/data.pkl", StringComparison.Ordinal)
                                                  && e.FullName.Count(c => c == '/') == 1)
                  ?? throw new CheckpointFormatException(
                      $"{path}: zip has no '<archive>/data.pkl' record: not a checkpoint written by torch.save");
        string prefix = pkl.FullName[..^"data.pkl".Length];
        var byteorder = zip.GetEntry(prefix + "byteorder");
        if (byteorder is not null)
        {
            using var r = new StreamReader(byteorder.Open());
            string order = r.ReadToEnd().Trim();
            if (order != "little")
                throw new CheckpointFormatException($"{path}: byte order '{order}' is not supported (only little-endian)");
        }

        var storages = new Dictionary<string, Tensor>();
        var sd = new StateDict();
        try
        {
            var unpickler = new RestrictedUnpickler($"{path}:{pkl.FullName}", AllowedGlobals)
            {
                PersistentLoad = pid => ResolveStorage(pid, path),
                Construct = (g, args) => Construct(g, args, zip, prefix, storages, path),
            };
            var root = unpickler.Load(ReadAll(pkl, path));
            if (root is not PyDict dict)
                throw new CheckpointFormatException(
                    $"{path}: checkpoint holds a {Describe(root)}, not a state dict (a dict of name → tensor)");
            foreach (var (key, value) in dict.Items)
            {
                if (key is not string name || value is not Tensor t)
                    throw new CheckpointFormatException(
                        $"{path}: entry '{key}' is a {Describe(value)}; a state dict maps names to tensors");
                sd.Add(name, t);
            }
            return sd;
        }
        catch
        {
            sd.Dispose();
            throw;
        }
        finally
        {
            foreach (var s in storages.Values) s.Dispose();
        }
    }

    private static object ResolveStorage(object? pid, string path)
    {
        if (pid is not object?[] { Length: 5 } t || t[0] is not "storage" || t[1] is not PyGlobal type
            || t[2] is not string key || t[4] is not long numel)
            throw new CheckpointFormatException($"{path}: unexpected persistent id in data.pkl");
        if (!StorageTypes.TryGetValue(type.Name, out var dtype))
            throw new CheckpointFormatException($"{path}: storage type '{type}' is not supported");
        return new StorageRef(dtype, key, numel);
    }

    private static object? Construct(PyGlobal g, object?[] args, ZipArchive zip, string prefix,
        Dictionary<string, Tensor> storages, string path)
    {
        switch (g.ToString())
        {
            case "collections.OrderedDict":
                return new PyDict();
            case "torch._utils._rebuild_parameter":
                return args.Length >= 1 && args[0] is Tensor p
                    ? p
                    : throw new CheckpointFormatException($"{path}: malformed _rebuild_parameter call");
            case "torch._utils._rebuild_tensor_v2":
                if (args.Length < 4 || args[0] is not StorageRef s || args[1] is not long offset
                    || args[2] is not object?[] size || args[3] is not object?[] stride)
                    throw new CheckpointFormatException($"{path}: malformed _rebuild_tensor_v2 call");
                var storage = LoadStorage(s, zip, prefix, storages, path);
                long[] sizes = size.Select(x => x is long v ? v : throw new CheckpointFormatException($"{path}: bad tensor size")).ToArray();
                long[] strides = stride.Select(x => x is long v ? v : throw new CheckpointFormatException($"{path}: bad tensor stride")).ToArray();
                long needed = offset + 1 + sizes.Zip(strides).Sum(z => z.First == 0 ? 0 : (z.First - 1) * z.Second);
                if (sizes.Any(v => v == 0)) needed = 0;
                if (offset < 0 || needed > storage.numel())
                    throw new CheckpointFormatException(
                        $"{path}: tensor view (offset {offset}, size [{string.Join(", ", sizes)}]) lies outside its storage '{s.Key}' of {storage.numel()} elements");
                using (var view = storage.as_strided(sizes, strides, offset))
                    return view.clone();
            default:
                throw new PickleSecurityException($"{path}: global '{g}' cannot be called");
        }
    }

    private static Tensor LoadStorage(StorageRef s, ZipArchive zip, string prefix, Dictionary<string, Tensor> cache,
        string path)
    {
        if (cache.TryGetValue(s.Key, out var t)) return t;
        var entry = zip.GetEntry($"{prefix}data/{s.Key}")
                    ?? throw new CheckpointFormatException($"{path}: storage record 'data/{s.Key}' is missing");
        var bytes = ReadAll(entry, path);
        long elementSize = empty(0, s.Type).ElementSize;
        if (bytes.Length != s.Numel * elementSize)
            throw new CheckpointFormatException(
                $"{path}: storage 'data/{s.Key}' has {bytes.Length} bytes, expected {s.Numel} × {elementSize}");
        var tensor = empty(s.Numel, s.Type);
        if (bytes.Length > 0) tensor.bytes = bytes;
        cache[s.Key] = tensor;
        return tensor;
    }

    private static byte[] ReadAll(ZipArchiveEntry entry, string path)
    {
        try
        {
            using var s = entry.Open();
            using var ms = new MemoryStream((int)Math.Min(entry.Length, int.MaxValue));
            s.CopyTo(ms);
            if (ms.Length != entry.Length)
                throw new CheckpointFormatException($"{path}: record '{entry.FullName}' is truncated");
            return ms.ToArray();
        }
        catch (InvalidDataException ex)
        {
            throw new CheckpointFormatException($"{path}: record '{entry.FullName}' is corrupt or truncated ({ex.Message})", ex);
        }
    }

    private static string Describe(object? o) => o switch
    {
        null => "None",
        PyObject p => $"'{p.Type}' object",
        _ => o.GetType().Name,
    };

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
