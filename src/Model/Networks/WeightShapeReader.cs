namespace Harness.Model.Networks;

/// <summary>
/// The conv and linear weight shapes of a state dict, read by the <c>FromStateDictShapes</c> factories: a masked
/// layer's <c>weight_orig</c> counts as its <c>weight</c>; a missing key, a shape of the wrong rank or a width
/// outside [1, <see cref="WidthLimits.MaxChannels"/>] is an <see cref="InvalidDataException"/> naming the key.
/// </summary>
internal sealed class WeightShapeReader
{
    private readonly Dictionary<string, long[]> _weights = new(StringComparer.Ordinal);
    private readonly string _architecture;

    /// <param name="shapes">State-dict key → shape.</param>
    /// <param name="architecture">The network the keys should describe, for messages (<c>a ResNet</c>).</param>
    public WeightShapeReader(IReadOnlyDictionary<string, long[]> shapes, string architecture)
    {
        _architecture = architecture;
        foreach (var (key, shape) in shapes)
        {
            if (key.EndsWith(".weight_orig", StringComparison.Ordinal))
                _weights[key[..^".weight_orig".Length] + ".weight"] = shape;
            else if (key.EndsWith(".weight", StringComparison.Ordinal))
                _weights[key] = shape;
        }
    }

    /// <summary>The <c>.weight</c> keys (masked ones under that name too).</summary>
    public IEnumerable<string> Keys => _weights.Keys;

    public bool Has(string key) => _weights.ContainsKey(key);

    /// <summary>Dimension <paramref name="dim"/> of <paramref name="key"/>'s shape, which must have
    /// <paramref name="rank"/> dimensions.</summary>
    public int Dim(string key, int rank, int dim)
    {
        if (!_weights.TryGetValue(key, out var shape))
            throw new InvalidDataException(
                $"state dict has no '{key}' (or '{key[..^".weight".Length]}.weight_orig'): not {_architecture}");
        if (shape.Length != rank)
            throw new InvalidDataException($"'{key}' has shape [{string.Join(", ", shape)}]; {_architecture}'s has {rank} dimensions");
        long v = shape[dim];
        return v is >= 1 and <= WidthLimits.MaxChannels
            ? (int)v
            : throw new InvalidDataException(
                $"'{key}' has shape [{string.Join(", ", shape)}]: dimension {dim} must lie in [1, {WidthLimits.MaxChannels}]");
    }
}
