using Harness.Model.Networks;

namespace Harness.Model.Families;

/// <summary>torchvision's MobileNetV2 (width 1.0).</summary>
public sealed class MobileNetV2Architecture() : NetworkFamily<MobileNetV2Widths>(FamilyName, "MobileNetV2",
    ("mobilenet_v2", MobileNetV2Widths.MobileNetV2, "mobilenet_v2-b0353104.pth"))
{
    public const string FamilyName = "mobilenet_v2";

    public override bool Recognises(IReadOnlyCollection<string> keys) =>
        keys.Any(k => k.StartsWith("features.1.conv.", StringComparison.Ordinal));

    public override INetworkWidths FromShapes(IReadOnlyDictionary<string, long[]> shapes) => MobileNetV2Widths.FromStateDictShapes(shapes);
}
