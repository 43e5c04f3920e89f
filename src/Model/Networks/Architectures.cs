using Harness.Model.Families;
using System.Text.Json;

namespace Harness.Model.Networks;

/// <summary>The architectures Harness builds, prunes and trains; adding one is adding its entry here (see
/// docs/ARCHITECTURE.md, "Adding an architecture").</summary>
public static class Architectures
{
    public static IReadOnlyList<INetworkArchitecture> All { get; } = [new EfficientNetArchitecture(), new ResNetArchitecture(), new MobileNetV2Architecture(), new GraphArchitecture()];

    /// <summary>Every <c>--arch</c> name, in the order of <see cref="All"/>.</summary>
    public static IReadOnlyList<string> VariantNames => All.SelectMany(a => a.Variants).ToList();

    /// <summary>The architecture with this family name; an <see cref="ArgumentException"/> listing the known ones otherwise.</summary>
    public static INetworkArchitecture ForFamily(string family) =>
        All.FirstOrDefault(a => a.Family == family)
        ?? throw new ArgumentException($"unknown architecture '{family}' (known: {string.Join(", ", All.Select(a => a.Family))})");

    /// <summary>The widths of an <c>--arch</c> variant; an <see cref="ArgumentException"/> listing the variants otherwise.</summary>
    public static INetworkWidths Create(string variant, int numClasses)
    {
        var (arch, name) = OfVariant(variant);
        return arch.Create(name, numClasses);
    }

    /// <summary>The family of an <c>--arch</c> variant and the variant's own spelling (names match ignoring case); an
    /// <see cref="ArgumentException"/> listing the variants otherwise.</summary>
    public static (INetworkArchitecture Architecture, string Variant) OfVariant(string variant)
    {
        var arch = All.FirstOrDefault(a => a.Variants.Contains(variant, StringComparer.OrdinalIgnoreCase))
                   ?? throw new ArgumentException($"--arch '{variant}' is not known (expected one of {string.Join(", ", VariantNames)})");
        return (arch, arch.Variants.First(v => v.Equals(variant, StringComparison.OrdinalIgnoreCase)));
    }

    /// <summary>The family whose keys a state dict has; an <see cref="InvalidDataException"/> when none recognises them.</summary>
    public static INetworkArchitecture Detect(IReadOnlyCollection<string> keys) =>
        All.FirstOrDefault(a => a.Recognises(keys))
        ?? throw new InvalidDataException($"the state dict's keys are of no known architecture ({string.Join(", ", All.Select(a => a.Family))}); " +
                                          $"first keys: {string.Join(", ", keys.Take(3))}");

    /// <summary>The family a metadata record names (its <c>architecture</c> member; EfficientNet's records have none).</summary>
    public static INetworkArchitecture FromMetadata(string json)
    {
        using var doc = JsonDocument.Parse(json);
        if (doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("architecture", out var a))
            return a.ValueKind == JsonValueKind.String
                ? ForFamily(a.GetString()!)
                : throw new JsonException("the metadata's 'architecture' is not a string");
        return ForFamily(EfficientNetArchitecture.FamilyName);
    }
}
