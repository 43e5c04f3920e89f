using Google.Protobuf;
using Harness.OnnxSchema;
using System.Runtime.InteropServices;
using DataType = Harness.OnnxSchema.TensorProto.Types.DataType;

namespace Harness.Export.Quantization;

/// <summary>
/// Rewrites a float ONNX graph (BatchNorm already folded) into ONNX's QDQ form, as ONNX Runtime's own static
/// quantizer places it, so that ONNX Runtime fuses every pair into integer kernels (QLinearConv, QLinearAdd, QGemm…):
/// <list type="bullet">
/// <item>every activation read or written by a quantized operator passes QuantizeLinear → DequantizeLinear (uint8,
/// per tensor; one pair per tensor, right after the node that makes it, shared by all its readers); the graph's
/// output stays float;</item>
/// <item>a Relu, or a Clip from 0, directly after a Conv, Add or Gemm whose output it alone reads is removed: its
/// range (floor 0) becomes the range of the tensor it read, and the uint8 encoding's saturation at zero point 0
/// does its clamping;</item>
/// <item>the weights of Conv, Gemm and MatMul become int8 initializers, symmetric per output channel, read through a
/// DequantizeLinear on that axis; their biases int32 at input scale × weight scale;</item>
/// <item>an ungrouped Conv with a kernel larger than 1×1 whose input channels are not a multiple of
/// <see cref="ChannelMultiple"/> (an RGB stem; a network pruned without rounding) reads its quantized input
/// zero-padded to the next multiple, with zero weights there, so that ONNX Runtime runs it in its symmetric VNNI
/// kernel (the Pad is one pass over the input, the Conv k² × its outputs passes; a 1×1 Conv is left as it is).</item>
/// </list>
/// Zero weights stay exactly zero (symmetric, zero point 0).
/// </summary>
public static class QdqRewriter
{
    /// <summary>The operators quantized by default: those ONNX Runtime runs as integer kernels on x86.</summary>
    public static readonly IReadOnlySet<string> DefaultOperators = new HashSet<string>(StringComparer.Ordinal)
    {
        "Conv", GroupedConv, "Gemm", "MatMul", "Add", "Mul", "Sigmoid", "GlobalAveragePool", "MaxPool", "AveragePool",
    };

    /// <summary>The name under which a Conv with groups > 1 (depthwise, grouped) is chosen in an operator set.</summary>
    public const string GroupedConv = "Conv(grouped)";

    /// <summary>The name an operator set knows <paramref name="node"/> by: its type, or <see cref="GroupedConv"/>.</summary>
    public static string OperatorKey(NodeProto node) =>
        node.OpType == "Conv" && node.Attribute.Any(a => a.Name == "group" && a.I > 1) ? GroupedConv : node.OpType;

    private static readonly HashSet<string> Weighted = ["Conv", "Gemm", "MatMul"];
    private static readonly HashSet<string> Binary = ["Add", "Mul"];
    private static readonly HashSet<string> FoldsActivation = ["Conv", "Add", "Gemm"];

    /// <summary>The activations whose ranges the rewrite needs (calibrate these): the inputs and outputs of the
    /// quantized operators and the outputs of the activations that will be removed.</summary>
    public static IReadOnlyList<string> TensorsToCalibrate(ModelProto model, IReadOnlySet<string>? operators = null)
    {
        var plan = Plan(model, operators ?? DefaultOperators);
        return plan.Quantized.Concat(plan.Folded.Values).Distinct().ToList();
    }

    /// <summary>The QDQ model; <paramref name="ranges"/> holds the calibrated range of every tensor
    /// <see cref="TensorsToCalibrate"/> named.</summary>
    public static ModelProto Rewrite(ModelProto floatModel, IReadOnlyDictionary<string, (double Lo, double Hi)> ranges,
        IReadOnlySet<string>? operators = null)
    {
        var model = floatModel.Clone();
        var graph = model.Graph;
        var plan = Plan(model, operators ?? DefaultOperators);
        (double, double) RangeOf(string t) =>
            ranges.TryGetValue(plan.Folded.TryGetValue(t, out var folded) ? folded : t, out var r)
                ? r
                : throw new ArgumentException($"no calibrated range for '{t}'");

        // Remove the folded activations; their readers read the tensor before them.
        var rename = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (before, after) in plan.Folded) rename[after] = before;
        var kept = graph.Node.Where(n => !plan.FoldedNodes.Contains(n)).ToList();
        foreach (var node in kept)
            for (int i = 0; i < node.Input.Count; i++)
                if (rename.TryGetValue(node.Input[i], out var r)) node.Input[i] = r;

        var initializers = graph.Initializer.ToDictionary(t => t.Name, StringComparer.Ordinal);
        var encodings = plan.Quantized.ToDictionary(t => t, t => { var (lo, hi) = RangeOf(t); return QuantizationMath.Activation(lo, hi); },
            StringComparer.Ordinal);
        var added = new List<TensorProto>();
        var prologue = new List<NodeProto>();
        var nodes = new List<NodeProto>();
        var padded = new HashSet<string>(StringComparer.Ordinal);
        string Dq(string t) => $"{t}/dq";

        foreach (string input in graph.Input.Select(i => i.Name).Where(encodings.ContainsKey))
            nodes.AddRange(QdqPair(input, encodings[input], added));
        foreach (var node in kept)
        {
            bool quantizedInput = Weighted.Contains(node.OpType) && plan.WeightedNodes.Contains(node);
            for (int i = 0; i < node.Input.Count; i++)
                if (encodings.ContainsKey(node.Input[i])) node.Input[i] = Dq(node.Input[i]);
            if (quantizedInput)
            {
                string x = Undq(node.Input[0]);
                int padding = ChannelPadding(node, initializers);
                if (padding > 0) nodes.AddRange(PadChannels(node, x, padding, initializers[node.Input[1]].Dims.Count, padded, added));
                prologue.AddRange(QuantizeParameters(node, initializers, encodings[x], added, padding));
            }
            nodes.Add(node);
            foreach (string output in node.Output.Where(encodings.ContainsKey))
                nodes.AddRange(QdqPair(output, encodings[output], added));
        }

        // A DequantizeLinear nothing reads (the image's own, where only padded copies are read) is dropped.
        var reads = new HashSet<string>(prologue.Concat(nodes).SelectMany(n => n.Input).Concat(graph.Output.Select(o => o.Name)), StringComparer.Ordinal);
        nodes.RemoveAll(n => n.OpType == "DequantizeLinear" && !reads.Contains(n.Output[0]));
        graph.Node.Clear();
        graph.Node.AddRange(prologue);
        graph.Node.AddRange(nodes);
        graph.Initializer.AddRange(added);
        // Float parameters nothing reads any more (the quantized weights replaced them) are dropped.
        var read = new HashSet<string>(graph.Node.SelectMany(n => n.Input), StringComparer.Ordinal);
        var unused = graph.Initializer.Where(t => !read.Contains(t.Name)).ToList();
        foreach (var t in unused) graph.Initializer.Remove(t);
        return model;

        static string Undq(string name) => name.EndsWith("/dq", StringComparison.Ordinal) ? name[..^3] : name;
    }

    /// <summary>The multiple of input channels ONNX Runtime's symmetric int8 convolution kernels (MLAS ConvSym, the
    /// VNNI path) take; a Conv with other input channels (an RGB stem's 3) falls back to a generic integer GEMM: B0's
    /// stem took 385 µs in int8 against 262 µs in float at batch 1 on this CPU, 117 µs padded.</summary>
    public const int ChannelMultiple = 4;

    /// <summary>How many zero input channels a quantized Conv gets so that its input channels are a multiple of
    /// <see cref="ChannelMultiple"/>: ungrouped 2-D Convs with a kernel larger than 1×1 only (a depthwise Conv's
    /// channels are its groups).</summary>
    private static int ChannelPadding(NodeProto node, Dictionary<string, TensorProto> initializers)
    {
        if (node.OpType != "Conv" || node.Attribute.Any(a => a.Name == "group" && a.I != 1)) return 0;
        var dims = initializers[node.Input[1]].Dims;
        if (dims.Count != 4 || dims[2] * dims[3] == 1) return 0;
        return (int)((ChannelMultiple - dims[1] % ChannelMultiple) % ChannelMultiple);
    }

    /// <summary>The Conv reads its quantized input zero-padded along the channels: Pad (constant: the zero point, so
    /// the new channels dequantize to exactly 0) between the input's QuantizeLinear and a DequantizeLinear of its own;
    /// its weights get as many zero input channels (<see cref="QuantizeParameters"/>), so it computes what it did.
    /// One Pad per tensor and width, shared by the Convs that need it.</summary>
    private static IEnumerable<NodeProto> PadChannels(NodeProto conv, string x, int padding, int rank, HashSet<string> padded,
        List<TensorProto> added)
    {
        string widened = $"{x}/q/padded{padding}";
        conv.Input[0] = $"{x}/dq/padded{padding}";
        if (!padded.Add(widened)) yield break;
        var pads = new long[2 * rank];
        pads[rank + 1] = padding; // the end of axis 1
        added.Add(Raw($"{widened}/pads", DataType.Int64, [2L * rank], MemoryMarshal.AsBytes(pads.AsSpan()).ToArray()));
        var pad = new NodeProto { OpType = "Pad", Name = $"{widened}/Pad" };
        pad.Input.AddRange([$"{x}/q", $"{widened}/pads", $"{x}/zero_point"]);
        pad.Output.Add(widened);
        pad.Attribute.Add(OnnxGraphBuilder.Text("mode", "constant"));
        yield return pad;
        yield return DequantizeNode(widened, $"{x}/scale", $"{x}/zero_point", conv.Input[0], null);
    }

    private sealed record QuantizationPlan(
        List<string> Quantized, Dictionary<string, string> Folded, HashSet<NodeProto> FoldedNodes, HashSet<NodeProto> WeightedNodes);

    private static QuantizationPlan Plan(ModelProto model, IReadOnlySet<string> operators)
    {
        var graph = model.Graph;
        var initializers = new HashSet<string>(graph.Initializer.Select(t => t.Name), StringComparer.Ordinal);
        var outputs = new HashSet<string>(graph.Output.Select(o => o.Name), StringComparer.Ordinal);
        var producer = new Dictionary<string, NodeProto>(StringComparer.Ordinal);
        var readers = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var node in graph.Node)
        {
            foreach (var o in node.Output) producer[o] = node;
            foreach (var i in node.Input) readers[i] = readers.GetValueOrDefault(i) + 1;
        }

        // Activations folded into the operator before them: tensor read → the activation's output.
        var folded = new Dictionary<string, string>(StringComparer.Ordinal);
        var foldedNodes = new HashSet<NodeProto>(ReferenceEqualityComparer.Instance);
        var alias = new Dictionary<string, string>(StringComparer.Ordinal); // activation output → tensor it read
        foreach (var node in graph.Node)
        {
            if (!IsFloorAtZero(node, graph)) continue;
            string t = node.Input[0];
            if (!producer.TryGetValue(t, out var p) || !FoldsActivation.Contains(p.OpType) || !operators.Contains(OperatorKey(p))) continue;
            if (readers.GetValueOrDefault(t) != 1 || outputs.Contains(t) || outputs.Contains(node.Output[0])) continue;
            folded[t] = node.Output[0];
            foldedNodes.Add(node);
            alias[node.Output[0]] = t;
        }
        string Resolve(string name) => alias.TryGetValue(name, out var a) ? a : name;

        var quantized = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var weighted = new HashSet<NodeProto>(ReferenceEqualityComparer.Instance);
        void Add(string t)
        {
            if (!initializers.Contains(t) && !outputs.Contains(t) && seen.Add(t)) quantized.Add(t);
        }
        foreach (var node in graph.Node)
        {
            if (foldedNodes.Contains(node) || !operators.Contains(OperatorKey(node)) || node.Input.Count == 0) continue;
            var inputs = node.Input.Select(Resolve).ToList();
            if (Weighted.Contains(node.OpType))
            {
                if (inputs.Count < 2 || initializers.Contains(inputs[0]) || !initializers.Contains(inputs[1])) continue;
                if (node.OpType == "Gemm" && !PlainGemm(node)) continue;
                if (inputs.Count > 2 && !initializers.Contains(inputs[2])) continue;
                weighted.Add(node);
                Add(inputs[0]);
            }
            else if (Binary.Contains(node.OpType))
            {
                if (inputs.Count != 2 || inputs.Any(initializers.Contains)) continue;
                Add(inputs[0]);
                Add(inputs[1]);
            }
            else Add(inputs[0]);
            Add(node.Output[0]);
        }
        return new QuantizationPlan(quantized, folded, foldedNodes, weighted);
    }

    /// <summary>Relu, or Clip whose minimum is the constant 0 (ReLU6 and ReLU written as Clip).</summary>
    private static bool IsFloorAtZero(NodeProto node, GraphProto graph)
    {
        if (node.OpType == "Relu") return node.Input.Count == 1;
        if (node.OpType != "Clip" || node.Input.Count < 2 || node.Input[1].Length == 0) return false;
        var min = graph.Initializer.FirstOrDefault(t => t.Name == node.Input[1]);
        return min is not null && FloatValues(min) is [0f];
    }

    private static bool PlainGemm(NodeProto gemm) =>
        gemm.Attribute.All(a => a.Name switch
        {
            "transA" => a.I == 0,
            "transB" => true,
            "alpha" or "beta" => a.F == 1f,
            _ => false,
        });

    /// <summary>The int8 weight (per output channel) and int32 bias of a Conv, Gemm or MatMul, through
    /// DequantizeLinear nodes that the node now reads.</summary>
    private static IEnumerable<NodeProto> QuantizeParameters(NodeProto node, Dictionary<string, TensorProto> initializers,
        ActivationEncoding input, List<TensorProto> added, int channelPadding = 0)
    {
        var weight = initializers[node.Input[1]];
        var shape = weight.Dims.ToArray();
        var values = FloatValues(weight);
        if (channelPadding > 0) (values, shape) = WithZeroInputChannels(values, shape, channelPadding);
        int axis = node.OpType switch
        {
            "Conv" => 0,
            "Gemm" => node.Attribute.Any(a => a.Name == "transB" && a.I == 1) ? 0 : 1,
            _ => shape.Length - 1, // MatMul: [.., K, N], per output column
        };
        float[]? bias = node.Input.Count > 2 && node.Input[2].Length > 0 ? FloatValues(initializers[node.Input[2]]) : null;
        int channels = (int)shape[axis];
        if (bias is not null && bias.Length != channels) bias = null; // a broadcast Gemm C stays float
        var encoding = QuantizationMath.Weights(values, shape, axis, bias, input.Scale);
        string w = weight.Name;
        added.Add(Raw($"{w}/int8", DataType.Int8, shape, MemoryMarshal.AsBytes(encoding.Values.AsSpan()).ToArray()));
        added.Add(Floats($"{w}/scale", [channels], encoding.Scales));
        added.Add(Raw($"{w}/zero_point", DataType.Int8, [channels], new byte[channels]));
        yield return DequantizeNode($"{w}/int8", $"{w}/scale", $"{w}/zero_point", $"{w}/dequantized", axis);
        node.Input[1] = $"{w}/dequantized";
        if (bias is null) yield break;
        string b = node.Input[2];
        var q = QuantizationMath.Bias(bias, input.Scale, encoding.Scales);
        added.Add(Raw($"{b}/int32", DataType.Int32, [channels], MemoryMarshal.AsBytes(q.AsSpan()).ToArray()));
        added.Add(Floats($"{b}/scale", [channels], QuantizationMath.BiasScales(input.Scale, encoding.Scales)));
        added.Add(Raw($"{b}/zero_point", DataType.Int32, [channels], new byte[channels * 4]));
        yield return DequantizeNode($"{b}/int32", $"{b}/scale", $"{b}/zero_point", $"{b}/dequantized", 0);
        node.Input[2] = $"{b}/dequantized";
    }

    /// <summary>A Conv weight [O, C, …] with <paramref name="padding"/> zero input channels appended: [O, C + padding, …].</summary>
    private static (float[] Values, long[] Shape) WithZeroInputChannels(float[] values, long[] shape, int padding)
    {
        long outputs = shape[0], channels = shape[1], kernel = shape.Skip(2).Aggregate(1L, (p, d) => p * d);
        var widened = new float[outputs * (channels + padding) * kernel];
        for (long o = 0; o < outputs; o++)
            Array.Copy(values, o * channels * kernel, widened, o * (channels + padding) * kernel, channels * kernel);
        var padded = (long[])shape.Clone();
        padded[1] = channels + padding;
        return (widened, padded);
    }

    private static IEnumerable<NodeProto> QdqPair(string tensor, ActivationEncoding e, List<TensorProto> added)
    {
        added.Add(Floats($"{tensor}/scale", [], [e.Scale]));
        added.Add(Raw($"{tensor}/zero_point", DataType.Uint8, [], [e.ZeroPoint]));
        var q = new NodeProto { OpType = "QuantizeLinear", Name = $"{tensor}/QuantizeLinear" };
        q.Input.AddRange([tensor, $"{tensor}/scale", $"{tensor}/zero_point"]);
        q.Output.Add($"{tensor}/q");
        yield return q;
        yield return DequantizeNode($"{tensor}/q", $"{tensor}/scale", $"{tensor}/zero_point", $"{tensor}/dq", null);
    }

    private static NodeProto DequantizeNode(string q, string scale, string zeroPoint, string output, int? axis)
    {
        var node = new NodeProto { OpType = "DequantizeLinear", Name = $"{output}/DequantizeLinear" };
        node.Input.AddRange([q, scale, zeroPoint]);
        node.Output.Add(output);
        if (axis is int a) node.Attribute.Add(OnnxGraphBuilder.Int("axis", a));
        return node;
    }

    internal static float[] FloatValues(TensorProto t)
    {
        if (t.DataType != (int)DataType.Float) throw new ArgumentException($"initializer '{t.Name}' is not float32");
        if (t.RawData.Length > 0) return MemoryMarshal.Cast<byte, float>(t.RawData.Span).ToArray();
        return t.FloatData.ToArray();
    }

    private static TensorProto Floats(string name, long[] dims, float[] values) =>
        Raw(name, DataType.Float, dims, MemoryMarshal.AsBytes(values.AsSpan()).ToArray());

    private static TensorProto Raw(string name, DataType type, long[] dims, byte[] bytes)
    {
        var t = new TensorProto { Name = name, DataType = (int)type, RawData = ByteString.CopyFrom(bytes) };
        t.Dims.AddRange(dims);
        return t;
    }
}
