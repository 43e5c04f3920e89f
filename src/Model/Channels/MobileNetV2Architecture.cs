namespace Harness.Model.Channels;

/// <summary>torchvision's MobileNetV2 (width 1.0).</summary>
public sealed class MobileNetV2Architecture : INetworkArchitecture
{
    public const string FamilyName = "mobilenet_v2";

    public string Family => FamilyName;

    public IReadOnlyList<string> Variants { get; } = ["mobilenet_v2"];

    public INetworkWidths Create(string variant, int numClasses) => variant switch
    {
        "mobilenet_v2" => MobileNetV2Widths.MobileNetV2(numClasses),
        _ => throw new ArgumentException($"--arch '{variant}' is not a MobileNetV2 variant"),
    };

    public string? ImageNetFile(string variant) => variant == "mobilenet_v2" ? "mobilenet_v2-b0353104.pth" : null;

    public bool Recognises(IReadOnlyCollection<string> keys) =>
        keys.Any(k => k.StartsWith("features.1.conv.", StringComparison.Ordinal));

    public INetworkWidths FromShapes(IReadOnlyDictionary<string, long[]> shapes) => MobileNetV2Widths.FromStateDictShapes(shapes);

    public INetworkWidths FromMetadata(string json) => NetworkMetadata.FromJson<MobileNetV2Widths>(FamilyName, json);
}
