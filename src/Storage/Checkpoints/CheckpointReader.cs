using Harness.Storage.Pickle;
using System.Text;
using static TorchSharp.torch;

namespace Harness.Storage.Checkpoints;

/// <summary>
/// One load of a torch.save zip: unpickles <c>data.pkl</c> with the restricted unpickler, loads each storage record
/// once, and materialises each view under <see cref="CheckpointLimits"/>. Every tensor it makes is either handed
/// out in the state dict or disposed, also when the file is refused half-way.
/// </summary>
internal sealed class CheckpointReader(ZipRecords zip, string path)
{
    private sealed record StorageRef(ScalarType Type, string Key, long Numel);

    private readonly Dictionary<string, (StorageRef Ref, Tensor Tensor)> _storages = new(StringComparer.Ordinal);
    private readonly List<Tensor> _made = [];
    private string _prefix = "";
    private long _storageBytes, _materialisedBytes;

    public StateDict Read()
    {
        var pkl = zip.Entries.FirstOrDefault(e => e.FullName.EndsWith("/data.pkl", StringComparison.Ordinal)
                                                  && e.FullName.Count(c => c == '/') == 1)
                  ?? throw Bad("zip has no '<archive>/data.pkl' record: not a checkpoint written by torch.save");
        _prefix = pkl.FullName[..^"data.pkl".Length];
        var byteorder = zip.Get(_prefix + "byteorder");
        if (byteorder is not null)
        {
            string order = Encoding.ASCII.GetString(zip.Read(byteorder, maxBytes: 64)).Trim();
            if (order != "little") throw Bad($"byte order '{order}' is not supported (only little-endian)");
        }

        var sd = new StateDict();
        var handedOut = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        try
        {
            var unpickler = new RestrictedUnpickler($"{path}:{pkl.FullName}", TorchCheckpoint.AllowedGlobals)
            {
                PersistentLoad = ResolveStorage,
                Construct = Construct,
            };
            var root = unpickler.Load(zip.Read(pkl));
            if (root is not PyDict dict)
                throw Bad($"checkpoint holds a {Describe(root)}, not a state dict (a dict of name → tensor)");
            foreach (var (key, value) in dict.Items)
            {
                if (key is not string name || value is not Tensor t)
                    throw Bad($"entry '{key}' is a {Describe(value)}; a state dict maps names to tensors");
                // A tensor object that two keys share (a tied weight via the memo) is copied, so each key owns one.
                sd.Add(name, handedOut.Add(t) ? t : Materialise(() => t.clone(), t.numel() * t.ElementSize, name));
                handedOut.Add(sd[name]);
            }
            return sd;
        }
        catch (PickleException ex)
        {
            handedOut.Clear();
            throw new CheckpointFormatException(ex.Message, ex);
        }
        catch
        {
            handedOut.Clear();
            throw;
        }
        finally
        {
            foreach (var t in _made)
                if (!handedOut.Contains(t)) t.Dispose();
            foreach (var (_, s) in _storages.Values) s.Dispose();
        }
    }

    private object ResolveStorage(object? pid)
    {
        if (pid is not object?[] { Length: 5 } t || t[0] is not "storage" || t[1] is not PyGlobal type
            || t[2] is not string key || t[4] is not long numel)
            throw Bad("unexpected persistent id in data.pkl");
        if (!TorchCheckpoint.StorageTypes.TryGetValue(type.Name, out var dtype))
            throw Bad($"storage type '{type}' is not supported");
        return new StorageRef(dtype, key, numel);
    }

    private object? Construct(PyGlobal g, object?[] args)
    {
        switch (g.ToString())
        {
            case "collections.OrderedDict":
                return new PyDict();
            case "torch._utils._rebuild_parameter":
                return args.Length >= 1 && args[0] is Tensor p ? p : throw Bad("malformed _rebuild_parameter call");
            case "torch._utils._rebuild_tensor_v2":
                if (args.Length < 4 || args[0] is not StorageRef s || args[2] is not object?[] size
                    || args[3] is not object?[] stride)
                    throw Bad("malformed _rebuild_tensor_v2 call");
                var view = StridedView.From(args[1], size, stride, what => Bad($"storage 'data/{s.Key}': {what}"));
                var storage = LoadStorage(s);
                if (view.Extent > s.Numel)
                    throw Bad($"tensor view ({view}) lies outside its storage 'data/{s.Key}' of {s.Numel} elements");
                // A broadcast (stride-0) view's element count can fit in 64 bits while its byte size does not.
                long elementSize = ElementSize(s.Type);
                if (view.Numel > long.MaxValue / elementSize)
                    throw Bad($"tensor view ({view}) of storage 'data/{s.Key}': {view.Numel} elements × {elementSize} bytes overflows a 64-bit byte count");
                long bytes = view.Numel * elementSize;
                return view.Numel == 0
                    ? Materialise(() => empty(view.Size, s.Type), 0, $"storage 'data/{s.Key}'")
                    : Materialise(() =>
                    {
                        using var strided = storage.as_strided(view.Size, view.Stride, view.Offset);
                        return strided.clone();
                    }, bytes, $"view ({view}) of storage 'data/{s.Key}'");
            default:
                throw new PickleSecurityException($"{path}: global '{g}' cannot be called");
        }
    }

    /// <summary>Makes a tensor of <paramref name="bytes"/> once the load's materialisation budget allows it.</summary>
    private Tensor Materialise(Func<Tensor> make, long bytes, string what)
    {
        long allowed = CheckpointLimits.MaterialisedBytesAllowed(_storageBytes);
        if (bytes > allowed - _materialisedBytes)
            throw Bad($"tensor {what} would materialise {bytes} bytes after {_materialisedBytes}; a checkpoint may materialise at most " +
                      $"{CheckpointLimits.StorageReuseFactor} × its {_storageBytes} storage bytes + {CheckpointLimits.ViewAllowanceBytes >> 20} MiB (materialisation budget)");
        _materialisedBytes += bytes;
        var t = make();
        _made.Add(t);
        return t;
    }

    private Tensor LoadStorage(StorageRef s)
    {
        if (_storages.TryGetValue(s.Key, out var cached))
            return cached.Ref == s
                ? cached.Tensor
                : throw Bad($"storage 'data/{s.Key}' is declared as {cached.Ref.Numel} × {cached.Ref.Type} and as {s.Numel} × {s.Type}");
        var entry = zip.Get($"{_prefix}data/{s.Key}") ?? throw Bad($"storage record 'data/{s.Key}' is missing");
        long elementSize = ElementSize(s.Type);
        long expected = s.Numel >= 0 && s.Numel <= long.MaxValue / elementSize ? s.Numel * elementSize : -1;
        if (expected < 0 || entry.Length != expected)
            throw Bad($"storage 'data/{s.Key}' has {entry.Length} bytes, expected {s.Numel} × {elementSize}");
        var bytes = zip.Read(entry);
        var tensor = empty(s.Numel, s.Type);
        if (bytes.Length > 0) tensor.bytes = bytes;
        _storages[s.Key] = (s, tensor);
        _storageBytes += bytes.Length;
        return tensor;
    }

    private static long ElementSize(ScalarType type) => type switch
    {
        ScalarType.Float64 or ScalarType.Int64 => 8,
        ScalarType.Float32 or ScalarType.Int32 => 4,
        ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Int16 => 2,
        _ => 1,
    };

    private static string Describe(object? o) => o switch
    {
        null => "None",
        PyObject p => $"'{p.Type}' object",
        _ => o.GetType().Name,
    };

    private CheckpointFormatException Bad(string what) => new($"{path}: {what}");
}
