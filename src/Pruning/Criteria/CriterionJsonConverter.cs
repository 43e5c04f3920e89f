using System.Text.Json;
using System.Text.Json.Serialization;

namespace Harness.Pruning.Criteria;

/// <summary>Writes a criterion as its name and reads a name back through its registry, so JSON documents (study
/// files, <c>--json</c> output) hold <c>"L1"</c> exactly as they did when criteria were an enumeration.</summary>
public abstract class CriterionJsonConverter<T>(Func<CriterionRegistry<T>> registry) : JsonConverter<T> where T : class, INamedCriterion
{
    public override T Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.String) throw new JsonException($"expected a {typeof(T).Name} name as a string");
        string name = reader.GetString()!;
        return registry().Find(name) ?? throw new JsonException($"'{name}' is not one of {string.Join(", ", registry().Names)}");
    }

    public override void Write(Utf8JsonWriter writer, T value, JsonSerializerOptions options) => writer.WriteStringValue(value.Name);
}
