using Harness.Model.Families;
using Harness.Model.Networks;

namespace Harness.Tests.TestSupport;

/// <summary>The networks tests run over, taken from the registry (<see cref="Architectures.All"/>), so that a family
/// added there is tested without a line changed here or in any test.</summary>
public static class Registry
{
    /// <summary>Every <c>--arch</c> variant.</summary>
    public static string[] Variants => [.. Architectures.VariantNames];

    /// <summary>The first variant of each family that has variants (<c>efficientnet_b0</c>, <c>resnet18</c>, <c>mobilenet_v2</c>, …;
    /// imported graph networks have none: they come from files).</summary>
    public static string[] OnePerFamily => [.. Architectures.All.Where(a => a.Variants.Count > 0).Select(a => a.Variants[0])];

    /// <summary>Every variant but EfficientNet's, for tests whose EfficientNet cases live in tests of their own (B0 at
    /// tiny multipliers, written before the other families).</summary>
    public static string[] BeyondEfficientNet =>
        [.. Architectures.All.Where(a => a.Family != EfficientNetArchitecture.FamilyName).SelectMany(a => a.Variants)];

    /// <summary>The first variant of each family but EfficientNet.</summary>
    public static string[] OnePerFamilyBeyondEfficientNet =>
        [.. Architectures.All.Where(a => a.Family != EfficientNetArchitecture.FamilyName && a.Variants.Count > 0).Select(a => a.Variants[0])];
}
