using System.Globalization;
using System.Text.RegularExpressions;
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

    /// <summary>The (stage, index) of every block whose keys <paramref name="blockKey"/> matches (groups 1 and 2),
    /// sorted; none, more than <see cref="WidthLimits.MaxBlocks"/>, or a key that <paramref name="isBlockKey"/> calls a
    /// block key but whose numbers do not match is an <see cref="InvalidDataException"/> naming
    /// <paramref name="pattern"/>.</summary>
    public List<(int Stage, int Index)> StagedBlocks(Regex blockKey, Func<string, bool> isBlockKey, string pattern)
    {
        var ids = _weights.Keys.Select(k => blockKey.Match(k)).Where(m => m.Success)
            .Select(m => (Stage: int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture),
                Index: int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture)))
            .Distinct().OrderBy(b => b.Stage).ThenBy(b => b.Index).ToList();
        if (ids.Count == 0)
            throw new InvalidDataException($"state dict has no '{pattern}' keys: not {_architecture}");
        if (ids.Count > WidthLimits.MaxBlocks)
            throw new InvalidDataException($"state dict has {ids.Count} blocks; at most {WidthLimits.MaxBlocks} are read");
        if (_weights.Keys.Any(k => isBlockKey(k) && !blockKey.IsMatch(k)))
            throw new InvalidDataException($"state dict has a '{pattern}' key whose numbers are not small integers");
        return ids;
    }
}
