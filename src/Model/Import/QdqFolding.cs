using Google.Protobuf;
using Harness.OnnxSchema;
using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace Harness.Model.Import;

/// <summary>
/// A quantized ONNX model in QDQ form (ONNX Runtime's quantizer, <c>export onnx --int8</c>) as the float network it
/// approximates, so that it imports like any float model: every DequantizeLinear of a constant (int8 weights, int32
/// biases) becomes the float constant it gives, (q − zero point) × scale per tensor or along its axis; every
/// QuantizeLinear whose readers are all DequantizeLinear nodes is replaced with them by the Clip to the pair's range
/// (their saturation: where a ReLU or ReLU6 was folded into the encoding, it does that ReLU's work; the rounding to
/// steps is not kept). Anything else quantized (a QuantizeLinear leading elsewhere, scales that are not
/// constants, QLinear operators) is refused naming the node.
/// </summary>
public static class QdqFolding
{
    public static bool IsQuantized(ModelProto model) =>
        model.Graph.Node.Any(n => n.OpType is "QuantizeLinear" or "DequantizeLinear");

    public static ModelProto Dequantize(ModelProto source, string path)
    {
        if (!IsQuantized(source)) return source;
        var model = source.Clone();
        var graph = model.Graph;
        string folder = Path.GetDirectoryName(Path.GetFullPath(path)) ?? ".";
        var initializers = graph.Initializer.ToDictionary(t => t.Name, StringComparer.Ordinal);
        var removed = new HashSet<NodeProto>(ReferenceEqualityComparer.Instance);
        var rename = new Dictionary<string, string>(StringComparer.Ordinal);
        var clips = new Dictionary<NodeProto, NodeProto>(ReferenceEqualityComparer.Instance);

        foreach (var node in graph.Node.Where(n => n.OpType == "DequantizeLinear" && initializers.ContainsKey(n.Input[0])))
        {
            string what = $"{path}: DequantizeLinear '{node.Name}'";
            if (node.Input.Count < 2 || !initializers.TryGetValue(node.Input[1], out var scaleProto))
                throw new InvalidDataException($"{what}: its scale is not a constant");
            TensorProto? zpProto = null;
            if (node.Input.Count > 2 && node.Input[2].Length > 0 && !initializers.TryGetValue(node.Input[2], out zpProto))
                throw new InvalidDataException($"{what}: its zero point is not a constant");
            using var scope = NewDisposeScope();
            var q = OnnxTensors.Read(initializers[node.Input[0]], $"{what} input", folder).to(float32);
            var scale = OnnxTensors.Read(scaleProto, $"{what} scale", folder).to(float32);
            var zp = zpProto is null ? zeros_like(scale) : OnnxTensors.Read(zpProto, $"{what} zero point", folder).to(float32);
            if (!zp.shape.SequenceEqual(scale.shape)) throw new InvalidDataException($"{what}: scale and zero point differ in shape");
            if (scale.numel() > 1)
            {
                long axis = node.Attribute.FirstOrDefault(a => a.Name == "axis")?.I ?? 1;
                if (axis < 0) axis += q.dim();
                if (scale.dim() != 1 || axis < 0 || axis >= q.dim() || q.shape[axis] != scale.shape[0])
                    throw new InvalidDataException($"{what}: {scale.numel()} scales do not match axis {axis} of shape [{string.Join(", ", q.shape)}]");
                var shape = Enumerable.Repeat(1L, (int)q.dim()).ToArray();
                shape[axis] = scale.shape[0];
                scale = scale.reshape(shape);
                zp = zp.reshape(shape);
            }
            else if (scale.numel() != 1) throw new InvalidDataException($"{what}: no scale");
            var value = ((q - zp) * scale).contiguous();
            var proto = new TensorProto { Name = node.Output[0] };
            SetFloats(proto, value);
            graph.Initializer.Add(proto);
            removed.Add(node);
        }

        UndoChannelPadding(graph, removed, folder, path);

        var readers = Readers(graph, removed);
        foreach (var q in graph.Node.Where(n => n.OpType == "QuantizeLinear"))
        {
            var pair = readers[q.Output[0]].ToList();
            if (pair.Count == 0 || pair.Any(r => r.OpType != "DequantizeLinear") || graph.Output.Any(o => o.Name == q.Output[0]))
                throw new InvalidDataException($"{path}: QuantizeLinear '{q.Name}' is not followed only by DequantizeLinear; only QDQ pairs can be imported");
            removed.Add(q);
            // The pair rounds to a step and saturates at the ends of its range: the float network keeps the saturation
            // (a ReLU folded into a zero point of 0, a ReLU6 into the range's top) as a Clip.
            var (lo, hi) = SaturationOf(q, initializers, folder, path);
            string clipped = $"{q.Output[0]}/saturated";
            string min = Scalar(graph, $"{clipped}.min", lo), max = Scalar(graph, $"{clipped}.max", hi);
            var clip = new NodeProto { OpType = "Clip", Name = $"{q.Name}/saturation" };
            clip.Input.AddRange([q.Input[0], min, max]);
            clip.Output.Add(clipped);
            clips[q] = clip;
            foreach (var dq in pair)
            {
                removed.Add(dq);
                rename[dq.Output[0]] = clipped;
            }
        }
        if (graph.Node.FirstOrDefault(n => !removed.Contains(n) && n.OpType is "DequantizeLinear" or "QuantizeLinear") is { } left)
            throw new InvalidDataException($"{path}: {left.OpType} '{left.Name}' reads a tensor that is neither a constant nor quantized in the graph; only QDQ pairs and dequantized constants can be imported");

        var kept = graph.Node.SelectMany(n => clips.TryGetValue(n, out var clip) ? [clip] : removed.Contains(n) ? [] : new[] { n }).ToList();
        foreach (var node in kept)
            for (int i = 0; i < node.Input.Count; i++)
                if (rename.TryGetValue(node.Input[i], out var r)) node.Input[i] = r;
        foreach (var output in graph.Output)
            if (rename.TryGetValue(output.Name, out var r)) output.Name = r;
        graph.Node.Clear();
        graph.Node.AddRange(kept);
        var read = new HashSet<string>(kept.SelectMany(n => n.Input), StringComparer.Ordinal);
        foreach (var unused in graph.Initializer.Where(t => !read.Contains(t.Name)).ToList()) graph.Initializer.Remove(unused);
        return model;
    }

    /// <summary>
    /// A quantized tensor zero-padded along its channels for the Convs that read it (the int8 export widens a Conv's
    /// input channels to a multiple of 4 for ONNX Runtime's fast kernels): QuantizeLinear → Pad (constant, the zero
    /// point, at the end of axis 1 only) → DequantizeLinear → Conv, whose weights are zero on the added channels. The
    /// float network it approximates reads the tensor as it was: the DequantizeLinear reads the QuantizeLinear again,
    /// the weights lose the added channels. Any other Pad of a quantized tensor is refused naming the node.
    /// </summary>
    private static void UndoChannelPadding(GraphProto graph, HashSet<NodeProto> removed, string folder, string path)
    {
        var producer = new Dictionary<string, NodeProto>(StringComparer.Ordinal);
        foreach (var n in graph.Node) foreach (var o in n.Output) producer[o] = n;
        var readers = Readers(graph, removed);
        var constants = graph.Initializer.GroupBy(t => t.Name, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Last(), StringComparer.Ordinal);
        foreach (var pad in graph.Node.Where(n => n.OpType == "Pad" && producer.TryGetValue(n.Input[0], out var p) && p.OpType == "QuantizeLinear").ToList())
        {
            var q = producer[pad.Input[0]];
            string what = $"{path}: Pad '{pad.Name}' of a quantized tensor";
            InvalidDataException Refuse(string why) => new($"{what}: {why}; only the int8 export's channel padding of a Conv's input can be imported");
            if (pad.Attribute.FirstOrDefault(a => a.Name == "mode") is { } mode && mode.S.ToStringUtf8() != "constant") throw Refuse("not constant padding");
            if (pad.Input.Count < 2 || !constants.TryGetValue(pad.Input[1], out var padsProto) || pad.Input.Count > 3) throw Refuse("its pads are not a constant");
            long[] pads;
            using (var p = OnnxTensors.Read(padsProto, $"{what} pads", folder).to(int64)) pads = p.data<long>().ToArray();
            int rank = pads.Length / 2;
            if (rank < 3 || pads.Where((v, i) => i != rank + 1).Any(v => v != 0) || pads[rank + 1] <= 0)
                throw Refuse($"pads [{string.Join(", ", pads)}] are not zeros added at the end of the channels");
            string? value = pad.Input.Count > 2 && pad.Input[2].Length > 0 ? pad.Input[2] : null;
            string? zeroPoint = q.Input.Count > 2 && q.Input[2].Length > 0 ? q.Input[2] : null;
            if (value != zeroPoint && !SameValue(value, zeroPoint, constants, folder)) throw Refuse("its value is not the zero point");
            var dqs = readers[pad.Output[0]].ToList();
            if (dqs.Count == 0 || dqs.Any(d => d.OpType != "DequantizeLinear")) throw Refuse("it is not read only by DequantizeLinear");
            foreach (var dq in dqs)
            {
                var convs = readers[dq.Output[0]].ToList();
                if (convs.Count == 0 || convs.Any(c => c.OpType != "Conv" || c.Input[0] != dq.Output[0] || c.Input.Count < 2 || !constants.ContainsKey(c.Input[1])))
                    throw Refuse("its channels are not read only by Convs with constant weights");
                foreach (var conv in convs) DropInputChannels(constants[conv.Input[1]], pads[rank + 1], $"{what}: Conv '{conv.Name}'", folder);
                dq.Input[0] = pad.Input[0];
            }
            removed.Add(pad);
        }
    }

    /// <summary>The nodes (not removed) that read each tensor.</summary>
    private static ILookup<string, NodeProto> Readers(GraphProto graph, HashSet<NodeProto> removed) =>
        graph.Node.Where(n => !removed.Contains(n))
            .SelectMany(n => n.Input.Select(i => (Input: i, Node: n)))
            .ToLookup(x => x.Input, x => x.Node, StringComparer.Ordinal);

    /// <summary>Sets a constant's float32 values and shape, in raw data.</summary>
    private static void SetFloats(TensorProto proto, Tensor value)
    {
        proto.DataType = (int)TensorProto.Types.DataType.Float;
        proto.Dims.Clear();
        proto.Dims.AddRange(value.shape);
        proto.FloatData.Clear();
        proto.ExternalData.Clear();
        proto.DataLocation = TensorProto.Types.DataLocation.Default;
        proto.RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(value.contiguous().data<float>().ToArray().AsSpan()));
    }

    private static bool SameValue(string? a, string? b, Dictionary<string, TensorProto> constants, string folder)
    {
        double Value(string? name)
        {
            if (name is null) return 0;
            if (!constants.TryGetValue(name, out var t)) return double.NaN;
            using var v = OnnxTensors.Read(t, name, folder).to(float64);
            return v.numel() == 1 ? v.item<double>() : double.NaN;
        }
        return Value(a) == Value(b);
    }

    /// <summary>A float Conv weight [O, C + added, …] back to [O, C, …]; the added channels must hold zeros.</summary>
    private static void DropInputChannels(TensorProto weight, long added, string what, string folder)
    {
        using var scope = NewDisposeScope();
        var w = OnnxTensors.Read(weight, what, folder).to(float32);
        if (w.dim() < 3 || w.shape[1] <= added) throw new InvalidDataException($"{what}: its weight [{string.Join(", ", w.shape)}] has no {added} added input channels");
        long channels = w.shape[1] - added;
        if (w.narrow(1, channels, added).abs().max().item<float>() != 0)
            throw new InvalidDataException($"{what}: its weights on the {added} padded input channels are not zero");
        SetFloats(weight, w.narrow(1, 0, channels));
    }

    /// <summary>The float range a QuantizeLinear saturates to: (qmin − zero point) × scale to (qmax − zero point) × scale.</summary>
    private static (float Lo, float Hi) SaturationOf(NodeProto q, Dictionary<string, TensorProto> initializers, string folder, string path)
    {
        string what = $"{path}: QuantizeLinear '{q.Name}'";
        if (q.Input.Count < 2 || !initializers.TryGetValue(q.Input[1], out var scaleProto))
            throw new InvalidDataException($"{what}: its scale is not a constant");
        using var scope = NewDisposeScope();
        var scale = OnnxTensors.Read(scaleProto, $"{what} scale", folder).to(float64);
        if (scale.numel() != 1) throw new InvalidDataException($"{what}: activations quantized per channel are not supported");
        double zp = 0;
        bool signed = false;
        if (q.Input.Count > 2 && q.Input[2].Length > 0)
        {
            if (!initializers.TryGetValue(q.Input[2], out var zpProto)) throw new InvalidDataException($"{what}: its zero point is not a constant");
            signed = zpProto.DataType == (int)TensorProto.Types.DataType.Int8;
            zp = OnnxTensors.Read(zpProto, $"{what} zero point", folder).to(float64).item<double>();
        }
        double s = scale.item<double>();
        if (!(s > 0) || !double.IsFinite(s)) throw new InvalidDataException($"{what}: scale {s} is not positive");
        var (qmin, qmax) = signed ? (-128.0, 127.0) : (0.0, 255.0);
        return ((float)((qmin - zp) * s), (float)((qmax - zp) * s));
    }

    private static string Scalar(GraphProto graph, string name, float value)
    {
        var t = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float, RawData = ByteString.CopyFrom(BitConverter.GetBytes(value)) };
        graph.Initializer.Add(t);
        return name;
    }
}
