using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Harness.Storage.Files;

/// <summary>
/// The one set of JSON conventions for everything Harness writes or reads: camelCase names (read case-insensitively),
/// enums as strings (integers still read), NaN/Infinity as named literals, numbers also read from strings, characters
/// such as × written as they are, nulls written; on reading, a missing required constructor member or a null for a
/// non-nullable member is a <see cref="JsonException"/>. <see cref="Options"/> writes indented documents (files,
/// <c>--json</c>); <see cref="Compact"/> the same on one line (records embedded in checkpoints, protocol lines).
/// Types that must refuse unknown members say so with <c>[JsonUnmappedMemberHandling(Disallow)]</c>.
/// </summary>
public static class HarnessJson
{
    public static JsonSerializerOptions Options { get; } = Create(indented: true);

    public static JsonSerializerOptions Compact { get; } = Create(indented: false);

    private static JsonSerializerOptions Create(bool indented)
    {
        var o = new JsonSerializerOptions(JsonSerializerDefaults.Web)
        {
            WriteIndented = indented,
            NumberHandling = JsonNumberHandling.AllowReadingFromString | JsonNumberHandling.AllowNamedFloatingPointLiterals,
            Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
            DefaultIgnoreCondition = JsonIgnoreCondition.Never,
            RespectRequiredConstructorParameters = true,
            RespectNullableAnnotations = true,
            Converters = { new JsonStringEnumConverter() },
        };
        o.MakeReadOnly(populateMissingResolver: true);
        return o;
    }

    public static string Serialize<T>(T value, bool indented = true) =>
        JsonSerializer.Serialize(value, indented ? Options : Compact);

    public static byte[] SerializeToUtf8Bytes<T>(T value) => JsonSerializer.SerializeToUtf8Bytes(value, Compact);

    public static T? Deserialize<T>(string json) => JsonSerializer.Deserialize<T>(json, Options);

    public static T? Deserialize<T>(ReadOnlySpan<byte> utf8) => JsonSerializer.Deserialize<T>(utf8, Options);
}
