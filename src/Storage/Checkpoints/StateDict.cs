using static TorchSharp.torch;

namespace Harness.Storage.Checkpoints;

/// <summary>An ordered name → tensor map that owns its tensors (a PyTorch state dict).</summary>
public sealed class StateDict : IDisposable
{
    private readonly List<KeyValuePair<string, Tensor>> _items = [];
    private readonly Dictionary<string, int> _index = new(StringComparer.Ordinal);

    public IReadOnlyList<KeyValuePair<string, Tensor>> Items => _items;
    public IEnumerable<string> Keys => _items.Select(i => i.Key);
    public int Count => _items.Count;

    public Tensor this[string key] => _items[_index[key]].Value;

    public bool ContainsKey(string key) => _index.ContainsKey(key);

    public bool TryGetValue(string key, out Tensor? value)
    {
        if (_index.TryGetValue(key, out int i))
        {
            value = _items[i].Value;
            return true;
        }
        value = null;
        return false;
    }

    public void Add(string key, Tensor value)
    {
        if (_index.ContainsKey(key)) throw new ArgumentException($"duplicate state-dict key '{key}'", nameof(key));
        _index[key] = _items.Count;
        _items.Add(new(key, value));
    }

    public IReadOnlyDictionary<string, long[]> Shapes() => _items.ToDictionary(i => i.Key, i => i.Value.shape);

    /// <summary>A detached CPU copy of a module's state dict in PyTorch's key order.</summary>
    public static StateDict FromModule(nn.Module module)
    {
        var sd = new StateDict();
        foreach (var (key, t) in StateDictOrder.Ordered(module))
            sd.Add(key, t.detach().cpu().clone());
        return sd;
    }

    public void Dispose()
    {
        foreach (var (_, t) in _items) t.Dispose();
        _items.Clear();
        _index.Clear();
    }
}
