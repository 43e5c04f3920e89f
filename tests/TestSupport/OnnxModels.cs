using Google.Protobuf;
using Harness.OnnxSchema;

namespace Harness.Tests.TestSupport;

/// <summary>Small ONNX models written with the schema types, for import tests that need no PyTorch.</summary>
public static class OnnxModels
{
    /// <summary>conv (3→4, 3×3) → Relu → GlobalAveragePool → Flatten → Gemm (4 → 10); with
    /// <paramref name="hidden"/>, Gemm (4 → 6) → Relu → Gemm (6 → 10) instead of the last Gemm. Weights are zeros
    /// unless <paramref name="seed"/> is given.</summary>
    public static ModelProto Small(bool hidden = false, int? seed = null) => Small(hidden ? "hidden" : "plain", seed);

    /// <summary>Variants of <see cref="Small(bool, int?)"/>: <c>plain</c>, <c>hidden</c> (a hidden linear layer), <c>grouped</c> (a conv of 2 groups),
    /// <c>concat</c> (a second conv 4 → 6 on the Relu, concatenated with it: 10 channels pooled for the classifier)
    /// and <c>flatten</c> (a 4×4 max pool, then the classifier reads the flattened 4×4×4 map).</summary>
    public static ModelProto Small(string variant, int? seed = null)
    {
        if (variant is "concat" or "flatten" or "grouped") return Shaped(variant, seed is int s0 ? new Random(s0) : null);
        var rng = seed is int s ? new Random(s) : null;
        var g = new GraphProto { Name = "small" };
        g.Input.Add(Value("input", 1, 3, 16, 16));
        g.Output.Add(Value("logits", 1, 10));
        g.Initializer.Add(Floats("conv.weight", rng, 4, 3, 3, 3));
        g.Initializer.Add(Floats("conv.bias", rng, 4));
        g.Node.Add(Node("Conv", "conv", ["input", "conv.weight", "conv.bias"], ["c"]));
        g.Node.Add(Node("Relu", "relu", ["c"], ["r"]));
        g.Node.Add(Node("GlobalAveragePool", "pool", ["r"], ["p"]));
        g.Node.Add(Node("Flatten", "flatten", ["p"], ["f"]));
        string features = "f";
        long width = 4;
        if (variant == "hidden")
        {
            g.Initializer.Add(Floats("hidden.weight", rng, 6, 4));
            g.Initializer.Add(Floats("hidden.bias", rng, 6));
            g.Node.Add(Gemm("hidden", "f", "h"));
            g.Node.Add(Node("Relu", "relu2", ["h"], ["hr"]));
            features = "hr";
            width = 6;
        }
        g.Initializer.Add(Floats("fc.weight", rng, 10, width));
        g.Initializer.Add(Floats("fc.bias", rng, 10));
        g.Node.Add(Gemm("fc", features, "logits"));
        var m = new ModelProto { IrVersion = 8, Graph = g, ProducerName = "test" };
        m.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 17 });
        return m;
    }

    private static ModelProto Shaped(string variant, Random? rng)
    {
        var g = new GraphProto { Name = variant };
        g.Input.Add(Value("input", 1, 3, 16, 16));
        g.Output.Add(Value("logits", 1, 10));
        g.Initializer.Add(Floats("conv.weight", rng, 4, 3, 3, 3));
        g.Initializer.Add(Floats("conv.bias", rng, 4));
        var conv = Node("Conv", "conv", ["input", "conv.weight", "conv.bias"], ["c"]);
        conv.Attribute.Add(new AttributeProto { Name = "pads", Type = AttributeProto.Types.AttributeType.Ints, Ints = { 1, 1, 1, 1 } });
        g.Node.Add(conv);
        g.Node.Add(Node("Relu", "relu", ["c"], ["r"]));
        long features;
        if (variant == "concat")
        {
            g.Initializer.Add(Floats("conv2.weight", rng, 6, 4, 1, 1));
            g.Initializer.Add(Floats("conv2.bias", rng, 6));
            g.Node.Add(Node("Conv", "conv2", ["r", "conv2.weight", "conv2.bias"], ["c2"]));
            g.Node.Add(Node("Concat", "cat", ["r", "c2"], ["cat"]));
            g.Node[^1].Attribute.Add(new AttributeProto { Name = "axis", Type = AttributeProto.Types.AttributeType.Int, I = 1 });
            g.Node.Add(Node("GlobalAveragePool", "pool", ["cat"], ["p"]));
            features = 10;
        }
        else if (variant == "grouped")
        {
            // A grouped conv (2 groups) reading the stem's 4 channels and writing 8, then a plain 1×1 conv.
            g.Initializer.Add(Floats("grouped.weight", rng, 8, 2, 3, 3));
            g.Initializer.Add(Floats("grouped.bias", rng, 8));
            var grouped = Node("Conv", "grouped", ["r", "grouped.weight", "grouped.bias"], ["gc"]);
            grouped.Attribute.Add(new AttributeProto { Name = "group", Type = AttributeProto.Types.AttributeType.Int, I = 2 });
            grouped.Attribute.Add(new AttributeProto { Name = "pads", Type = AttributeProto.Types.AttributeType.Ints, Ints = { 1, 1, 1, 1 } });
            g.Node.Add(grouped);
            g.Node.Add(Node("Relu", "relu2", ["gc"], ["gr"]));
            g.Initializer.Add(Floats("conv2.weight", rng, 6, 8, 1, 1));
            g.Initializer.Add(Floats("conv2.bias", rng, 6));
            g.Node.Add(Node("Conv", "conv2", ["gr", "conv2.weight", "conv2.bias"], ["c2"]));
            g.Node.Add(Node("GlobalAveragePool", "pool", ["c2"], ["p"]));
            features = 6;
        }
        else
        {
            var pool = Node("MaxPool", "pool", ["r"], ["p"]);
            pool.Attribute.Add(new AttributeProto { Name = "kernel_shape", Type = AttributeProto.Types.AttributeType.Ints, Ints = { 4, 4 } });
            pool.Attribute.Add(new AttributeProto { Name = "strides", Type = AttributeProto.Types.AttributeType.Ints, Ints = { 4, 4 } });
            g.Node.Add(pool);
            features = 4 * 4 * 4;
        }
        g.Node.Add(Node("Flatten", "flatten", ["p"], ["f"]));
        g.Initializer.Add(Floats("fc.weight", rng, 10, features));
        g.Initializer.Add(Floats("fc.bias", rng, 10));
        g.Node.Add(Gemm("fc", "f", "logits"));
        var m = new ModelProto { IrVersion = 8, Graph = g, ProducerName = "test" };
        m.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 17 });
        return m;
    }

    private static NodeProto Gemm(string name, string input, string output)
    {
        var gemm = Node("Gemm", name, [input, $"{name}.weight", $"{name}.bias"], [output]);
        gemm.Attribute.Add(new AttributeProto { Name = "transB", Type = AttributeProto.Types.AttributeType.Int, I = 1 });
        return gemm;
    }

    public static NodeProto Node(string op, string name, string[] inputs, string[] outputs)
    {
        var n = new NodeProto { OpType = op, Name = name };
        n.Input.AddRange(inputs);
        n.Output.AddRange(outputs);
        return n;
    }

    public static ValueInfoProto Value(string name, params long[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var d in dims) shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = d });
        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = 1, Shape = shape } } };
    }

    public static TensorProto Floats(string name, Random? rng, params long[] dims)
    {
        var t = new TensorProto { Name = name, DataType = 1 };
        t.Dims.AddRange(dims);
        long n = dims.Aggregate(1L, (a, b) => a * b);
        var values = new float[n];
        if (rng is not null)
            for (long i = 0; i < n; i++) values[i] = (float)(rng.NextDouble() * 2 - 1);
        t.RawData = ByteString.CopyFrom(values.SelectMany(BitConverter.GetBytes).ToArray());
        return t;
    }
}
