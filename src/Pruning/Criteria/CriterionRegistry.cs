namespace Harness.Pruning.Criteria;

/// <summary>An ordered set of criteria of one kind, looked up by name (ignoring case); its names and descriptions
/// are what the command line offers and what configuration files are checked against.</summary>
public sealed class CriterionRegistry<T> where T : INamedCriterion
{
    private readonly string _what;

    /// <param name="what">What a name names, for messages (<c>channel importance</c>).</param>
    /// <param name="all">The criteria, in the order help texts list them.</param>
    public CriterionRegistry(string what, params T[] all)
    {
        _what = what;
        All = all;
        if (all.Select(c => c.Name.ToLowerInvariant()).Distinct().Count() != all.Length)
            throw new ArgumentException($"two {what} criteria share a name", nameof(all));
    }

    public IReadOnlyList<T> All { get; }

    public IReadOnlyList<string> Names => All.Select(c => c.Name).ToList();

    /// <summary>The criterion of that name, or null.</summary>
    public T? Find(string name) =>
        All.FirstOrDefault(c => string.Equals(c.Name, name, StringComparison.OrdinalIgnoreCase));

    /// <summary>The criterion of that name; an <see cref="ArgumentException"/> naming <paramref name="option"/> and the
    /// known names otherwise.</summary>
    public T Named(string name, string option) =>
        Find(name) ?? throw new ArgumentException($"{option} '{name}' is not a known {_what} (expected one of {string.Join(", ", Names)})");

    /// <summary>"L1 (…), L2 (…), …": every name with its description, for help texts.</summary>
    public string Describe() => string.Join(", ", All.Select(c => $"{c.Name} ({c.Description})"));
}
