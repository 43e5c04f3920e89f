namespace Harness.Model.Channels;

/// <summary>torchvision's EfficientNet (B0; other multipliers through <see cref="EfficientNetConfig"/>).</summary>
public sealed class EfficientNetArchitecture : INetworkArchitecture
{
    public const string FamilyName = "efficientnet";

    public string Family => FamilyName;

    public IReadOnlyList<string> Variants { get; } = ["efficientnet_b0"];

    public INetworkWidths Create(string variant, int numClasses) => variant switch
    {
        "efficientnet_b0" => EfficientNetWidths.FromConfig(EfficientNetConfig.B0(numClasses)),
        _ => throw new ArgumentException($"--arch '{variant}' is not an EfficientNet variant"),
    };

    public string? ImageNetFile(string variant) => variant == "efficientnet_b0" ? "efficientnet_b0_rwightman-7f5810bc.pth" : null;

    public bool Recognises(IReadOnlyCollection<string> keys) =>
        keys.Any(k => k.StartsWith("features.", StringComparison.Ordinal) && k.Contains(".block.", StringComparison.Ordinal));

    public INetworkWidths FromShapes(IReadOnlyDictionary<string, long[]> shapes) => EfficientNetWidths.FromStateDictShapes(shapes);

    public INetworkWidths FromMetadata(string json) => EfficientNetWidths.FromJson(json);
}
