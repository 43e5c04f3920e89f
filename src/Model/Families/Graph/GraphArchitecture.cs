using Harness.Model.Networks;
using Harness.Storage.Files;
using System.Text.Json;

namespace Harness.Model.Families;

/// <summary>Imported networks in the registry: no <c>--arch</c> variants (they come from a file), never recognised
/// from state-dict keys alone; rebuilt from the graph their checkpoint's metadata records.</summary>
public sealed class GraphArchitecture : INetworkArchitecture
{
    public string Family => GraphNetwork.FamilyName;

    public IReadOnlyList<string> Variants { get; } = [];

    public INetworkWidths Create(string variant, int numClasses) =>
        throw new ArgumentException("imported networks have no --arch variants: import one with 'harness import onnx' or pass --weights MODEL.onnx");

    public string? ImageNetFile(string variant) => null;

    public bool Recognises(IReadOnlyCollection<string> keys) => false;

    public INetworkWidths FromShapes(IReadOnlyDictionary<string, long[]> shapes) =>
        throw new InvalidDataException("an imported network is rebuilt from the graph in its checkpoint's metadata, which this checkpoint lacks");

    public INetworkWidths FromMetadata(string json) => GraphMetadata.FromJson(json);
}

/// <summary>The metadata record of an imported network: <c>{"architecture": "graph", "graph": {…}}</c>.</summary>
public static class GraphMetadata
{
    public static string ToJson(GraphWidths widths) =>
        HarnessJson.Serialize(new Record(GraphNetwork.FamilyName, widths.Spec), indented: false);

    public static GraphWidths FromJson(string json)
    {
        var record = HarnessJson.Deserialize<Record>(json) ?? throw new JsonException("the metadata record is empty");
        if (record.Graph is null) throw new JsonException("the metadata record has no 'graph'");
        return new GraphWidths(record.Graph);
    }

    private sealed record Record(string Architecture, GraphSpec Graph);
}
