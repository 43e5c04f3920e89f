using Google.Protobuf;
using Harness.OnnxSchema;
using static TorchSharp.torch;

namespace Harness.Export;

/// <summary>Accumulates the nodes and initializers of one ONNX graph; node and value names follow the module
/// names (<c>features.1.0.block.0.0</c>), initializers keep the state-dict names where a tensor is exported as is.</summary>
internal sealed class OnnxGraphBuilder
{
    private readonly GraphProto _graph;
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);

    public OnnxGraphBuilder(string name) => _graph = new GraphProto { Name = name };

    public GraphProto Graph => _graph;

    /// <summary>Adds an initializer holding a copy of <paramref name="tensor"/> (int64 kept, anything else as float32);
    /// returns its name.</summary>
    public string Initializer(string name, Tensor tensor)
    {
        Reserve(name);
        using var scope = NewDisposeScope();
        bool integer = tensor.dtype == int64;
        var t = tensor.detach().to(integer ? int64 : float32).cpu().contiguous();
        var proto = new TensorProto
        {
            Name = name,
            DataType = (int)(integer ? TensorProto.Types.DataType.Int64 : TensorProto.Types.DataType.Float),
        };
        proto.Dims.AddRange(t.shape);
        proto.RawData = ByteString.CopyFrom(t.bytes.ToArray()); // raw_data: little-endian float32, as ONNX specifies
        _graph.Initializer.Add(proto);
        return name;
    }

    /// <summary>Adds a node with one output named <c>{name}</c> plus the op type; returns the output's name.</summary>
    public string Node(string opType, string name, IEnumerable<string> inputs, params AttributeProto[] attributes)
    {
        string output = $"{name}/{opType}";
        Reserve(output);
        var node = new NodeProto { OpType = opType, Name = output };
        node.Input.AddRange(inputs);
        node.Output.Add(output);
        node.Attribute.AddRange(attributes);
        _graph.Node.Add(node);
        return output;
    }

    /// <summary>Adds a node with <paramref name="outputs"/> outputs named <c>{name}/{opType}</c> (then <c>:1</c>,
    /// <c>:2</c>…); returns their names.</summary>
    public IReadOnlyList<string> Node(string opType, string name, IEnumerable<string> inputs, int outputs, params AttributeProto[] attributes)
    {
        if (outputs == 1) return [Node(opType, name, inputs, attributes)];
        var node = new NodeProto { OpType = opType, Name = $"{name}/{opType}" };
        node.Input.AddRange(inputs);
        for (int i = 0; i < outputs; i++)
        {
            string output = i == 0 ? $"{name}/{opType}" : $"{name}/{opType}:{i}";
            Reserve(output);
            node.Output.Add(output);
        }
        node.Attribute.AddRange(attributes);
        _graph.Node.Add(node);
        return node.Output.ToList();
    }

    /// <summary>Renames the last node's output to a graph output name (e.g. <c>logits</c>).</summary>
    public void NameLastOutput(string name)
    {
        Reserve(name);
        var last = _graph.Node[^1];
        last.Output[0] = name;
    }

    public static AttributeProto Ints(string name, params long[] values)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        a.Ints.AddRange(values);
        return a;
    }

    public static AttributeProto Int(string name, long value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    public static AttributeProto Float(string name, float value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value };

    public static AttributeProto Floats(string name, params float[] values)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Floats };
        a.Floats.AddRange(values);
        return a;
    }

    public static AttributeProto Text(string name, string value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.String, S = ByteString.CopyFromUtf8(value) };

    /// <summary>A float32 tensor value; a string dimension is symbolic (dim_param), a number fixed (dim_value).</summary>
    public static ValueInfoProto FloatTensor(string name, params object[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var d in dims)
            shape.Dim.Add(d is string p
                ? new TensorShapeProto.Types.Dimension { DimParam = p }
                : new TensorShapeProto.Types.Dimension { DimValue = Convert.ToInt64(d, System.Globalization.CultureInfo.InvariantCulture) });
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto
            {
                TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = shape },
            },
        };
    }

    private void Reserve(string name)
    {
        if (!_names.Add(name)) throw new InvalidOperationException($"ONNX graph: the name '{name}' is used twice");
    }
}
