using System.Text.RegularExpressions;

namespace Harness.Pruning;

/// <summary>
/// The one layer-selection rule of both pruning kinds (<c>--include</c> / <c>--exclude</c>): a pattern selects the
/// layer of exactly that name, or, when no layer has that name, every layer whose name the pattern matches as a .NET
/// regular expression (anywhere in the name, as Python's <c>re.search</c>). A pattern that selects no layer is
/// refused, naming the option, the pattern and the form layer names take, so a mistyped name never passes silently.
/// </summary>
public static class LayerSelection
{
    /// <summary>The layers of <paramref name="layers"/> (in their order) that <paramref name="include"/> selects (all of
    /// them when it is empty) and <paramref name="exclude"/> does not.</summary>
    public static IReadOnlyList<string> Select(IReadOnlyList<string> layers, IReadOnlyList<string>? include,
        IReadOnlyList<string>? exclude, string includeOption = "--include", string excludeOption = "--exclude")
    {
        var included = include is { Count: > 0 } ? Matches(layers, include, includeOption) : layers.ToHashSet(StringComparer.Ordinal);
        var excluded = exclude is { Count: > 0 } ? Matches(layers, exclude, excludeOption) : [];
        var selected = layers.Where(l => included.Contains(l) && !excluded.Contains(l)).ToList();
        if (selected.Count == 0)
            throw new ArgumentException($"{includeOption}/{excludeOption}: no layer is left to prune");
        return selected;
    }

    /// <summary>Every layer one of <paramref name="patterns"/> selects; a pattern selecting none is an
    /// <see cref="ArgumentException"/>.</summary>
    public static HashSet<string> Matches(IReadOnlyList<string> layers, IEnumerable<string> patterns, string option)
    {
        var result = new HashSet<string>(StringComparer.Ordinal);
        foreach (var pattern in patterns)
        {
            if (layers.Contains(pattern, StringComparer.Ordinal))
            {
                result.Add(pattern);
                continue;
            }
            Regex regex;
            try
            {
                regex = new Regex(pattern, RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
            }
            catch (ArgumentException ex)
            {
                throw new ArgumentException($"{option} '{pattern}': neither a layer name nor a valid regular expression ({ex.Message})", ex);
            }
            var hits = layers.Where(l => regex.IsMatch(l)).ToList();
            if (hits.Count == 0)
                throw new ArgumentException($"{option} '{pattern}' names no layer of this model (layers are named like " +
                                            $"{string.Join(", ", layers.Take(2).Concat(layers.TakeLast(1)).Distinct())}; `summary` lists them all)");
            result.UnionWith(hits);
        }
        return result;
    }
}
