using Harness.Storage.Files;
using System.Text.Json;

namespace Harness.Model.Networks;

/// <summary>Harness's checkpoint metadata record for the architectures after EfficientNet:
/// <c>{"architecture": family, "widths": {…}}</c>, strict on read (a missing member, a null or a wrong JSON type is a
/// <see cref="JsonException"/>).</summary>
public static class NetworkMetadata
{
    public static string ToJson<TWidths>(string family, TWidths widths) =>
        HarnessJson.Serialize(new Document<TWidths>(family, widths), indented: false);

    public static TWidths FromJson<TWidths>(string family, string json)
    {
        using (var parsed = JsonDocument.Parse(json))
        {
            string? named = parsed.RootElement.ValueKind == JsonValueKind.Object && parsed.RootElement.TryGetProperty("architecture", out var a)
                && a.ValueKind == JsonValueKind.String ? a.GetString() : null;
            if (named != family)
                throw new JsonException($"the metadata record is of a {named ?? "unnamed"} network, not a {family}");
        }
        var doc = HarnessJson.Deserialize<Document<TWidths>>(json) ?? throw new JsonException("the metadata record is empty");
        return doc.Widths ?? throw new JsonException("the metadata record has no widths");
    }

    private sealed record Document<TWidths>(string Architecture, TWidths Widths);
}
