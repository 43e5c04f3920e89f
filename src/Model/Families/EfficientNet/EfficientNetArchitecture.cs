using Harness.Model.Networks;

namespace Harness.Model.Families;

/// <summary>torchvision's EfficientNet (B0; other multipliers through <see cref="EfficientNetConfig"/>). Its metadata
/// record predates the <c>architecture</c> member and has none (<see cref="EfficientNetWidths.ToJson"/>).</summary>
public sealed class EfficientNetArchitecture() : NetworkFamily<EfficientNetWidths>(FamilyName, "EfficientNet",
    ("efficientnet_b0", classes => EfficientNetWidths.FromConfig(EfficientNetConfig.B0(classes)), "efficientnet_b0_rwightman-7f5810bc.pth"))
{
    public const string FamilyName = "efficientnet";

    public override bool Recognises(IReadOnlyCollection<string> keys) =>
        keys.Any(k => k.StartsWith("features.", StringComparison.Ordinal) && k.Contains(".block.", StringComparison.Ordinal));

    public override INetworkWidths FromShapes(IReadOnlyDictionary<string, long[]> shapes) => EfficientNetWidths.FromStateDictShapes(shapes);

    public override INetworkWidths FromMetadata(string json) => EfficientNetWidths.FromJson(json);
}
