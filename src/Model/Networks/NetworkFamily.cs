namespace Harness.Model.Networks;

/// <summary>
/// The registry entry of a declared family (<see cref="INetworkArchitecture"/>) from its parts: the family name, its
/// variants with their widths factories and torch hub file names, how its keys are recognised and how its widths
/// are read back from shapes. The metadata record is <see cref="NetworkMetadata"/>'s unless a family overrides it.
/// </summary>
public abstract class NetworkFamily<TWidths> : INetworkArchitecture where TWidths : INetworkWidths
{
    private readonly IReadOnlyList<(string Name, Func<int, TWidths> Create, string? ImageNetFile)> _variants;
    private readonly string _displayName;

    /// <param name="family">The family name (metadata's <c>architecture</c>).</param>
    /// <param name="displayName">The name messages use (<c>ResNet</c>).</param>
    /// <param name="variants">The <c>--arch</c> names, each with its widths and torch hub's ImageNet file name.</param>
    protected NetworkFamily(string family, string displayName,
        params (string Name, Func<int, TWidths> Create, string? ImageNetFile)[] variants)
    {
        Family = family;
        _displayName = displayName;
        _variants = variants;
        Variants = variants.Select(v => v.Name).ToList();
    }

    public string Family { get; }

    public IReadOnlyList<string> Variants { get; }

    public INetworkWidths Create(string variant, int numClasses)
    {
        foreach (var v in _variants)
            if (v.Name == variant) return v.Create(numClasses);
        throw new ArgumentException($"--arch '{variant}' is not a {_displayName} variant");
    }

    public string? ImageNetFile(string variant) => _variants.FirstOrDefault(v => v.Name == variant).ImageNetFile;

    public abstract bool Recognises(IReadOnlyCollection<string> keys);

    public abstract INetworkWidths FromShapes(IReadOnlyDictionary<string, long[]> shapes);

    public virtual INetworkWidths FromMetadata(string json) => NetworkMetadata.FromJson<TWidths>(Family, json);
}
