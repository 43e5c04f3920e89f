namespace Harness.Storage.Pickle;

/// <summary>A Python dict as the unpickler rebuilds it: insertion-ordered key/value pairs.</summary>
public sealed class PyDict
{
    private readonly List<KeyValuePair<object, object?>> _items = [];
    private readonly Dictionary<object, int> _index = [];

    public IReadOnlyList<KeyValuePair<object, object?>> Items => _items;

    public int Count => _items.Count;

    public void Set(object key, object? value)
    {
        if (_index.TryGetValue(key, out int i)) _items[i] = new(key, value);
        else
        {
            _index[key] = _items.Count;
            _items.Add(new(key, value));
        }
    }

    public bool TryGet(object key, out object? value)
    {
        if (_index.TryGetValue(key, out int i))
        {
            value = _items[i].Value;
            return true;
        }
        value = null;
        return false;
    }

    /// <summary>State set by BUILD on an object rebuilt as a dict (e.g. OrderedDict's <c>_metadata</c>).</summary>
    public object? State { get; set; }
}
