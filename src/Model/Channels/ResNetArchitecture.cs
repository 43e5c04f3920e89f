namespace Harness.Model.Channels;

/// <summary>torchvision's ResNet: <c>resnet18</c> (BasicBlock) and <c>resnet50</c> (Bottleneck).</summary>
public sealed class ResNetArchitecture : INetworkArchitecture
{
    public const string FamilyName = "resnet";

    public string Family => FamilyName;

    public IReadOnlyList<string> Variants { get; } = ["resnet18", "resnet50"];

    public INetworkWidths Create(string variant, int numClasses) => variant switch
    {
        "resnet18" => ResNetWidths.ResNet18(numClasses),
        "resnet50" => ResNetWidths.ResNet50(numClasses),
        _ => throw new ArgumentException($"--arch '{variant}' is not a ResNet variant"),
    };

    public string? ImageNetFile(string variant) => variant switch
    {
        "resnet18" => "resnet18-f37072fd.pth",
        "resnet50" => "resnet50-0676ba61.pth",
        _ => null,
    };

    public bool Recognises(IReadOnlyCollection<string> keys) =>
        keys.Any(k => k.StartsWith("layer1.0.conv1.", StringComparison.Ordinal)) && keys.Any(k => k.StartsWith("fc.", StringComparison.Ordinal));

    public INetworkWidths FromShapes(IReadOnlyDictionary<string, long[]> shapes) => ResNetWidths.FromStateDictShapes(shapes);

    public INetworkWidths FromMetadata(string json) => NetworkMetadata.FromJson<ResNetWidths>(FamilyName, json);
}
