using System.Text.Json.Serialization;

namespace Harness.Model.Families;

/// <summary>
/// An imported network's graph without its weights: what a <see cref="GraphNetwork"/> is rebuilt from, recorded in
/// every checkpoint of one (its metadata, beside the tensors). Nodes are in execution order and speak Harness's
/// operator vocabulary (<see cref="GraphOps"/>): ONNX's operators with their attributes normalised at import
/// (constant inputs such as Clip's bounds, Pad's pads or Split's sizes folded into attributes; Gemm and MatMul with
/// a constant weight become <c>Linear</c>; BatchNormalization's momentum in PyTorch's convention).
/// </summary>
public sealed record GraphSpec
{
    /// <summary>The name of the network's input value.</summary>
    public required string Input { get; init; }

    /// <summary>The input's declared channels, height and width (the batch is not a limit).</summary>
    public required long[] InputShape { get; init; }

    /// <summary>The value the network returns: the output of the classifier (<c>Linear</c>) node.</summary>
    public required string Output { get; init; }

    public required IReadOnlyList<GraphNode> Nodes { get; init; }

    /// <summary>Small constant tensors (shapes, scalars, per-channel vectors) written out in the record.</summary>
    public IReadOnlyDictionary<string, GraphConstant> Constants { get; init; } = new Dictionary<string, GraphConstant>();

    /// <summary>Large constant tensors (a preprocessing mean image): their shapes; the values are buffers of the
    /// <c>constants</c> module in the state dict, under the names of <see cref="GraphNetwork.BufferName"/>.</summary>
    public IReadOnlyDictionary<string, long[]> Buffers { get; init; } = new Dictionary<string, long[]>();

    /// <summary>The module names of each stage, in order, as <c>--freeze</c> numbers them: the segments between the
    /// graph's spatial downsamplings at its declared input size.</summary>
    public IReadOnlyList<IReadOnlyList<string>> Stages { get; init; } = [];

    /// <summary>Where the graph came from (the ONNX file's name and producer), for a person reading the record.</summary>
    public string? Source { get; init; }
}

/// <summary>One operator of a <see cref="GraphSpec"/>. Parametrised operators (<c>Conv</c>, <c>BatchNorm</c>,
/// <c>Linear</c>) name their <see cref="Module"/> (the state-dict prefix of their tensors) and give its shape in
/// <see cref="Shape"/> (Conv: out, in/groups, kH, kW; Linear: out, in; BatchNorm: channels).</summary>
public sealed record GraphNode
{
    public required string Op { get; init; }

    /// <summary>The node's name in the source graph (messages name it).</summary>
    public required string Name { get; init; }

    public required string[] Inputs { get; init; }

    public required string[] Outputs { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Module { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public long[]? Shape { get; init; }

    /// <summary>Conv and Linear: whether the layer has a bias.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public bool Bias { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyDictionary<string, long[]>? Ints { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyDictionary<string, double>? Floats { get; init; }

    /// <summary>An integer attribute (<paramref name="fallback"/> when absent).</summary>
    public long Int(string name, long fallback) => Ints is not null && Ints.TryGetValue(name, out var v) && v.Length == 1 ? v[0] : fallback;

    public long[]? IntList(string name) => Ints is not null && Ints.TryGetValue(name, out var v) ? v : null;

    public double Float(string name, double fallback) => Floats is not null && Floats.TryGetValue(name, out var v) ? v : fallback;
}

/// <summary>A small constant: its shape and its values (floats, or integers for int64 shape tensors).</summary>
public sealed record GraphConstant(long[] Shape, double[]? Floats, long[]? Ints)
{
    /// <summary>Number of elements.</summary>
    public long Count => Shape.Aggregate(1L, (a, b) => a * b);
}
