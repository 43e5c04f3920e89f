using Harness.Model.Networks;

namespace Harness.Model.Families;

/// <summary>torchvision's ResNet: <c>resnet18</c> (BasicBlock) and <c>resnet50</c> (Bottleneck).</summary>
public sealed class ResNetArchitecture() : NetworkFamily<ResNetWidths>(FamilyName, "ResNet",
    ("resnet18", ResNetWidths.ResNet18, "resnet18-f37072fd.pth"),
    ("resnet50", ResNetWidths.ResNet50, "resnet50-0676ba61.pth"))
{
    public const string FamilyName = "resnet";

    public override bool Recognises(IReadOnlyCollection<string> keys) =>
        keys.Any(k => k.StartsWith("layer1.0.conv1.", StringComparison.Ordinal)) && keys.Any(k => k.StartsWith("fc.", StringComparison.Ordinal));

    public override INetworkWidths FromShapes(IReadOnlyDictionary<string, long[]> shapes) => ResNetWidths.FromStateDictShapes(shapes);
}
