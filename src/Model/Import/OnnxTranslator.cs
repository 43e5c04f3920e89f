using Harness.Model.Families;
using Harness.OnnxSchema;
using static TorchSharp.torch;

namespace Harness.Model.Import;

/// <summary>One ONNX graph translated node by node into <see cref="GraphOps"/>' vocabulary: constants resolved
/// (initializers, Constant nodes, Identity aliases), parametrised operators given module names and their tensors put
/// in the shared state dict, small constants written into the record and large ones made buffers. Value names get
/// <c>prefix</c> (a preprocessing graph's are kept apart from the model's).</summary>
internal sealed class OnnxTranslator
{
    private readonly string _path;
    private readonly string _folder;
    private readonly string _prefix;
    private readonly ModelProto _model;
    private readonly Dictionary<string, TensorProto> _initializers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Tensor> _constantNodes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _aliases = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _rename = new(StringComparer.Ordinal);
    private readonly HashSet<string> _dynamic = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Tensor> _sd;
    private readonly HashSet<string> _modules = new(StringComparer.Ordinal);
    private readonly HashSet<string> _containers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _readers = new(StringComparer.Ordinal);
    private readonly List<GraphNode> _nodes = [];
    private readonly Dictionary<string, GraphConstant> _constants = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long[]> _buffers = new(StringComparer.Ordinal);

    public OnnxTranslator(string path, ModelProto model, Dictionary<string, Tensor> sd, string prefix = "")
    {
        _path = path;
        _folder = Path.GetDirectoryName(Path.GetFullPath(path))!;
        _prefix = prefix;
        _model = model;
        _sd = sd;
        Opset = model.OpsetImport.Where(o => o.Domain is "" or "ai.onnx").Select(o => o.Version).DefaultIfEmpty(0).Max();
        foreach (var init in model.Graph.Initializer)
            if (!_initializers.TryAdd(init.Name, init)) throw Refuse($"the initializer '{init.Name}' is defined twice");
        var real = model.Graph.Input.Where(i => !_initializers.ContainsKey(i.Name)).ToList();
        if (real.Count != 1)
            throw Refuse($"{real.Count} graph inputs besides the initializers ({string.Join(", ", real.Select(i => i.Name))}); an image network has one");
        InputInfo = real[0];
        _dynamic.Add(InputInfo.Name);
        if (model.Graph.Output.Count != 1) throw Refuse($"{model.Graph.Output.Count} graph outputs; the import takes one");
        foreach (var n in model.Graph.Node)
            foreach (var i in n.Input) _readers[i] = _readers.GetValueOrDefault(i) + 1;
    }

    public long Opset { get; }

    private ValueInfoProto InputInfo { get; }

    public string Input => N(InputInfo.Name);

    public string Output => N(_model.Graph.Output[0].Name);

    public List<GraphNode> Nodes => _nodes;

    public Dictionary<string, GraphConstant> Constants => _constants;

    public Dictionary<string, long[]> Buffers => _buffers;

    /// <summary>The input's channels, height and width (a symbolic height or width is taken as 224) and its batch
    /// size when fixed (0 when symbolic).</summary>
    public (long C, long H, long W, long Batch) DeclaredInput()
    {
        var dims = InputInfo.Type?.TensorType?.Shape?.Dim;
        if (dims is null || dims.Count != 4) throw Refuse($"the input '{InputInfo.Name}' is not declared as a 4-D N×C×H×W tensor");
        if (InputInfo.Type!.TensorType.ElemType != (int)TensorProto.Types.DataType.Float) throw Refuse($"the input '{InputInfo.Name}' is not float32");
        long Dim(int i, long symbolic) => dims[i].HasDimValue ? dims[i].DimValue : symbolic;
        long c = Dim(1, -1), h = Dim(2, 224), w = Dim(3, 224);
        if (c is < 1 or > 4096 || h is < 1 or > 8192 || w is < 1 or > 8192)
            throw Refuse($"the input '{InputInfo.Name}' is declared {c}×{h}×{w}; channels must be fixed (1–4096) and height and width 1–8192");
        return (c, h, w, Dim(0, 0));
    }

    /// <summary>Places another translator's graph (a preprocessing) in front of this one: its output becomes this
    /// graph's input.</summary>
    public void Adopt(OnnxTranslator before, string beforeOutput, string input)
    {
        _nodes.InsertRange(0, before._nodes);
        foreach (var (k, v) in before._constants) _constants.Add(k, v);
        foreach (var (k, v) in before._buffers) _buffers.Add(k, v);
        _rename[InputInfo.Name] = beforeOutput;
        _ = input;
    }

    /// <summary>Adds a node written by the import itself (names already final).</summary>
    public void Emit(GraphNode node) => _nodes.Add(node);

    /// <summary>Adds a small constant written by the import itself.</summary>
    public void AddConstant(string name, Tensor value)
    {
        using (value) _constants[name] = Inline(value);
    }

    private string N(string name) => _rename.TryGetValue(name, out var r) ? r : _prefix + name;

    private InvalidDataException Refuse(string why) => new($"{_path}: {why}");

    private InvalidDataException Refuse(NodeProto node, string why) =>
        new($"{_path}: node '{node.Name}' ({node.OpType}): {why}");

    private bool IsConstant(string name) =>
        _aliases.ContainsKey(name) || _constantNodes.ContainsKey(name) || _initializers.ContainsKey(name) && !_dynamic.Contains(name);

    /// <summary>A fresh copy of a constant's value (the caller owns it).</summary>
    private Tensor Value(string name, NodeProto node)
    {
        while (_aliases.TryGetValue(name, out var a)) name = a;
        if (_constantNodes.TryGetValue(name, out var c)) return c.clone();
        if (_initializers.TryGetValue(name, out var init)) return OnnxTensors.Read(init, $"{_path}: initializer '{name}'", _folder);
        throw Refuse(node, $"input '{name}' must be a constant (an initializer or a Constant node)");
    }

    private long[] Ints(string name, NodeProto node)
    {
        using var v = Value(name, node);
        using var l = v.to(int64);
        return l.data<long>().ToArray();
    }

    private double Scalar(string name, NodeProto node)
    {
        using var v = Value(name, node);
        if (v.numel() != 1) throw Refuse(node, $"input '{name}' must be a scalar");
        using var d = v.to(float64);
        return d.item<double>();
    }

    private static GraphConstant Inline(Tensor t)
    {
        using var cpu = t.cpu();
        return cpu.dtype == int64
            ? new GraphConstant(cpu.shape, null, cpu.data<long>().ToArray())
            : new GraphConstant(cpu.shape, null, null) with { Floats = cpu.to(float64).data<double>().ToArray() };
    }

    /// <summary>The record's name for an input: a dynamic value's, or a constant's after registering it (inline when
    /// small, a buffer otherwise).</summary>
    private string Operand(string name, NodeProto node)
    {
        if (_dynamic.Contains(name)) return N(name);
        if (!IsConstant(name)) throw Refuse(node, $"reads '{name}', which no earlier node, input or initializer defines");
        string n = N(name);
        if (_constants.ContainsKey(n) || _buffers.ContainsKey(n)) return n;
        using var v = Value(name, node);
        if (v.numel() <= 64) _constants[n] = Inline(v);
        else
        {
            if (v.dtype == int64) throw Refuse(node, $"the integer constant '{name}' has {v.numel()} elements");
            _buffers[n] = v.shape;
            _sd[$"constants.{GraphNetwork.BufferName(n)}"] = v.to(float32).detach().clone();
        }
        return n;
    }

    private static Dictionary<string, AttributeProto> Attributes(NodeProto n) =>
        n.Attribute.GroupBy(a => a.Name).ToDictionary(g => g.Key, g => g.Last(), StringComparer.Ordinal);

    public void TranslateNodes(long declaredBatch)
    {
        for (int index = 0; index < _model.Graph.Node.Count; index++)
        {
            var node = _model.Graph.Node[index];
            var a = Attributes(node);
            var inputs = node.Input.ToList();
            var outputs = node.Output.ToList();
            string name = _prefix + (node.Name.Length > 0 ? node.Name : $"{node.OpType}_{index}");
            if (!Supported(node.OpType))
                throw Refuse(node, $"operator not supported (supported: {string.Join(", ", OnnxImporter.Supported)})");
            if (outputs.Count == 0 || outputs[0].Length == 0) throw Refuse(node, "has no output");
            foreach (var o in outputs.Where(o => o.Length > 0))
                if (_dynamic.Contains(o) || IsConstant(o)) throw Refuse(node, $"defines '{o}', which is already defined");
            // Values computed from constants alone stay constants (Identity of an initializer, Constant).
            if (node.OpType == "Constant")
            {
                _constantNodes[outputs[0]] = ConstantValue(node, a);
                continue;
            }
            if (node.OpType == "Identity" && IsConstant(inputs[0]))
            {
                _aliases[outputs[0]] = inputs[0];
                continue;
            }
            if (Foldable.Contains(node.OpType) && inputs.Where(i => i.Length > 0).All(IsConstant))
            {
                var values = inputs.Select(i => i.Length > 0 ? Value(i, node) : null).ToArray();
                try
                {
                    _constantNodes[outputs[0]] = Fold(node, a, values);
                }
                catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or System.Runtime.InteropServices.ExternalException)
                {
                    throw Refuse(node, $"its constant inputs could not be folded ({ex.Message})");
                }
                finally
                {
                    foreach (var v in values) v?.Dispose();
                }
                continue;
            }
            if (FoldOnly.Contains(node.OpType))
                throw Refuse(node, $"{node.OpType} is supported only on constants (folded at import), and an input here is computed from the image");
            foreach (var i in inputs.Where(i => i.Length > 0))
                if (!_dynamic.Contains(i) && !IsConstant(i))
                    throw Refuse(node, $"reads '{i}', which no earlier node, input or initializer defines (a dangling input, or a cycle)");
            if (!_dynamic.Contains(inputs[0]) && node.OpType is not ("Gather" or "Concat"))
                throw Refuse(node, $"its data input '{inputs[0]}' is a constant; constant folding of {node.OpType} is not supported");
            var g = Translate(node, a, inputs, name, declaredBatch);
            if (g is null) continue;
            var translated = g with { Outputs = g.Outputs.Length > 0 ? g.Outputs : [N(outputs[0])] };
            _nodes.Add(translated);
            foreach (var o in outputs.Take(translated.Outputs.Length).Where(o => o.Length > 0)) _dynamic.Add(o);
        }
        string output = _model.Graph.Output[0].Name;
        if (!_dynamic.Contains(output)) throw Refuse($"the output '{output}' is not computed from the input");
    }

    private static bool Supported(string op) => OnnxImporter.Supported.Contains(op) || FoldOnly.Contains(op);

    /// <summary>Operators evaluated at import when every input is a constant (shape arithmetic, padding amounts).</summary>
    private static readonly HashSet<string> Foldable = new(StringComparer.Ordinal)
    {
        "Shape", "Gather", "Add", "Sub", "Mul", "Div", "Cast", "ConstantOfShape", "Concat", "Reshape", "Slice", "Transpose",
        "Unsqueeze", "Squeeze",
    };

    /// <summary>Operators the import only folds: a graph that applies them to the image is refused.</summary>
    public static readonly IReadOnlySet<string> FoldOnly = new HashSet<string>(StringComparer.Ordinal) { "ConstantOfShape", "Slice", "Transpose" };

    /// <summary>One constant-folding step (ONNX semantics; integer division truncates).</summary>
    private Tensor Fold(NodeProto node, Dictionary<string, AttributeProto> a, Tensor?[] x)
    {
        long[]? L(string key) => a.TryGetValue(key, out var v) ? v.Ints.ToArray() : null;
        long[] Longs(Tensor t)
        {
            using var l = t.to(int64).cpu();
            return l.data<long>().ToArray();
        }
        long Axis(long axis, long rank) => axis < 0 ? axis + rank : axis;
        long[] Axes(int input) => x.Length > input && x[input] is { } t ? Longs(t) : L("axes") ?? [];
        switch (node.OpType)
        {
            case "Shape": return tensor(x[0]!.shape, int64);
            case "Gather": return GraphOps.Gather(x[0]!, x[1]!, a.TryGetValue("axis", out var gatherAxis) ? gatherAxis.I : 0);
            case "Add": return x[0]!.add(x[1]!);
            case "Sub": return x[0]!.sub(x[1]!);
            case "Mul": return x[0]!.mul(x[1]!);
            case "Div":
                return x[0]!.dtype == int64 && x[1]!.dtype == int64 ? x[0]!.div(x[1]!, RoundingMode.trunc) : x[0]!.div(x[1]!);
            case "Cast":
                {
                    long to = a.TryGetValue("to", out var t) ? t.I : 1;
                    return x[0]!.to(to is 6 or 7 or 9 ? int64 : float32);
                }
            case "ConstantOfShape":
                {
                    var shape = Longs(x[0]!);
                    if (shape.Any(d => d is < 0 or > 1 << 20) || shape.Aggregate(1L, (p, d) => p * d) > 1 << 20)
                        throw new ArgumentException($"shape [{string.Join(", ", shape)}] out of range");
                    using var value = a.TryGetValue("value", out var v) && v.T is not null ? OnnxTensors.Read(v.T, "value", _folder) : tensor(0f);
                    return value.flatten().expand(1).reshape([]).expand(shape).contiguous();
                }
            case "Concat":
                {
                    var parts = x.Where(t => t is not null).Select(t => t!).ToArray();
                    long axis = Axis(a.TryGetValue("axis", out var ax) ? ax.I : 0, parts[0].dim());
                    return cat(parts, axis);
                }
            case "Reshape":
                {
                    var shape = Longs(x[1]!);
                    for (int i = 0; i < shape.Length; i++)
                        if (shape[i] == 0) shape[i] = x[0]!.shape[i];
                    return x[0]!.reshape(shape).contiguous();
                }
            case "Slice":
                {
                    long[] starts = x.Length > 1 && x[1] is not null ? Longs(x[1]!) : L("starts")!;
                    long[] ends = x.Length > 2 && x[2] is not null ? Longs(x[2]!) : L("ends")!;
                    long[] axes = x.Length > 3 && x[3] is not null ? Longs(x[3]!) : L("axes") ?? Enumerable.Range(0, starts.Length).Select(i => (long)i).ToArray();
                    long[] steps = x.Length > 4 && x[4] is not null ? Longs(x[4]!) : Enumerable.Repeat(1L, starts.Length).ToArray();
                    var y = x[0]!.alias();
                    for (int i = 0; i < starts.Length; i++)
                    {
                        long axis = Axis(axes[i], y.dim()), size = y.shape[axis], step = steps[i];
                        if (step == 0) throw new ArgumentException("a Slice step of 0");
                        long start = starts[i] < 0 ? starts[i] + size : starts[i];
                        long end = ends[i] < 0 ? ends[i] + size : ends[i];
                        Tensor next;
                        if (step > 0)
                        {
                            start = Math.Clamp(start, 0, size);
                            end = Math.Clamp(end, start, size);
                            next = y.slice(axis, start, end, step);
                        }
                        else
                        {
                            // A negative step walks backwards: flip, then slice forwards.
                            start = Math.Clamp(start, -1, size - 1);
                            end = Math.Clamp(end, -1, size - 1);
                            using var flipped = y.flip(axis);
                            long from = size - 1 - start, to = size - 1 - end;
                            next = flipped.slice(axis, Math.Clamp(from, 0, size), Math.Clamp(Math.Max(to, from), 0, size), -step);
                        }
                        y.Dispose();
                        y = next;
                    }
                    return y.contiguous();
                }
            case "Transpose":
                {
                    var perm = L("perm") ?? Enumerable.Range(0, (int)x[0]!.dim()).Reverse().Select(i => (long)i).ToArray();
                    return x[0]!.permute(perm).contiguous();
                }
            case "Unsqueeze": return GraphOps.Unsqueeze(x[0]!, Axes(1));
            case "Squeeze": return GraphOps.Squeeze(x[0]!, Axes(1));
            default:
                throw new InvalidOperationException($"{node.OpType} is not folded");
        }
    }

    private Tensor ConstantValue(NodeProto node, Dictionary<string, AttributeProto> a)
    {
        if (a.TryGetValue("value", out var v) && v.T is not null) return OnnxTensors.Read(v.T, $"{_path}: node '{node.Name}' (Constant)", _folder);
        if (a.TryGetValue("value_float", out v)) return tensor(v.F);
        if (a.TryGetValue("value_floats", out v)) return tensor(v.Floats.ToArray());
        if (a.TryGetValue("value_int", out v)) return tensor(v.I, int64);
        if (a.TryGetValue("value_ints", out v)) return tensor(v.Ints.ToArray(), int64);
        throw Refuse(node, "a Constant without a tensor, float or int value (sparse and string constants are not supported)");
    }

    private GraphNode? Translate(NodeProto node, Dictionary<string, AttributeProto> a, List<string> inputs, string name, long declaredBatch)
    {
        long I(string key, long fallback) => a.TryGetValue(key, out var v) ? v.I : fallback;
        long[]? L(string key) => a.TryGetValue(key, out var v) ? v.Ints.ToArray() : null;
        double F(string key, double fallback) => a.TryGetValue(key, out var v) ? v.F : fallback;
        string S(string key, string fallback) => a.TryGetValue(key, out var v) ? v.S.ToStringUtf8() : fallback;
        bool Has(int i) => inputs.Count > i && inputs[i].Length > 0;
        string x = N(inputs[0]);
        GraphNode Unary(string op, Dictionary<string, long[]>? ints = null, Dictionary<string, double>? floats = null) =>
            new() { Op = op, Name = name, Inputs = [x], Outputs = [], Ints = ints, Floats = floats };
        switch (node.OpType)
        {
            case "Conv":
                {
                    using var w = Value(inputs[1], node);
                    if (w.dim() != 4) throw Refuse(node, $"weight of rank {w.dim()}; only 2-D convolutions are supported");
                    var k = L("kernel_shape");
                    if (k is not null && (k.Length != 2 || k[0] != w.shape[2] || k[1] != w.shape[3]))
                        throw Refuse(node, $"kernel_shape [{string.Join(", ", k)}] disagrees with the weight [{string.Join(", ", w.shape)}]");
                    string autoPad = S("auto_pad", "NOTSET");
                    long autoCode = autoPad switch { "NOTSET" => 0, "SAME_UPPER" => 1, "SAME_LOWER" => 2, "VALID" => 3, _ => throw Refuse(node, $"auto_pad '{autoPad}'") };
                    string module = ModuleName(node, name, [(inputs[1], "weight"), .. Has(2) ? new[] { (inputs[2], "bias") } : []]);
                    _sd[$"{module}.weight"] = w.detach().clone();
                    if (Has(2)) _sd[$"{module}.bias"] = Value(inputs[2], node);
                    var ints = new Dictionary<string, long[]>
                    {
                        ["strides"] = L("strides") ?? [1, 1],
                        ["pads"] = L("pads") ?? [0, 0, 0, 0],
                        ["dilations"] = L("dilations") ?? [1, 1],
                        ["group"] = [I("group", 1)],
                    };
                    if (autoCode != 0) ints["auto_pad"] = [autoCode];
                    return new GraphNode { Op = "Conv", Name = name, Module = module, Inputs = [x], Outputs = [], Shape = w.shape, Bias = Has(2), Ints = ints };
                }
            case "BatchNormalization":
                {
                    string module = ModuleName(node, name, [(inputs[1], "weight"), (inputs[2], "bias"), (inputs[3], "running_mean"), (inputs[4], "running_var")]);
                    string[] suffixes = ["weight", "bias", "running_mean", "running_var"];
                    long channels = -1;
                    for (int i = 0; i < 4; i++)
                    {
                        var t = Value(inputs[i + 1], node).to(float32);
                        if (t.dim() != 1 || channels >= 0 && t.shape[0] != channels)
                            throw Refuse(node, $"its {suffixes[i]} has shape [{string.Join(", ", t.shape)}]; a BatchNorm's four tensors are vectors of one length");
                        channels = t.shape[0];
                        _sd[$"{module}.{suffixes[i]}"] = t;
                    }
                    if (a.TryGetValue("spatial", out var sp) && sp.I == 0) throw Refuse(node, "spatial=0 (per-activation BatchNorm) is not supported");
                    if (I("training_mode", 0) != 0) throw Refuse(node, "training_mode=1: export the model from eval mode");
                    return new GraphNode
                    {
                        Op = "BatchNorm",
                        Name = name,
                        Module = module,
                        Inputs = [x],
                        Outputs = [N(node.Output[0])],
                        Shape = [channels],
                        Floats = new Dictionary<string, double> { ["epsilon"] = F("epsilon", 1e-5), ["momentum"] = 1 - F("momentum", 0.9) },
                    };
                }
            case "Gemm":
                {
                    if (I("transA", 0) != 0) throw Refuse(node, "transA=1 is not supported");
                    var b = Value(inputs[1], node);
                    using var w = I("transB", 0) != 0 ? b : b.t().contiguous();
                    if (!ReferenceEquals(w, b)) b.Dispose();
                    return Linear(node, name, x, w, inputs[1], Has(2) ? inputs[2] : null, F("alpha", 1), F("beta", 1));
                }
            case "MatMul":
                {
                    if (!IsConstant(inputs[1])) throw Refuse(node, "a MatMul of two computed values is not supported (only by a constant weight)");
                    using var b = Value(inputs[1], node);
                    if (b.dim() != 2) throw Refuse(node, $"weight of rank {b.dim()}");
                    using var w = b.t().contiguous();
                    return Linear(node, name, x, w, inputs[1], null, 1, 1);
                }
            case "Relu" or "Sigmoid" or "HardSwish" or "Identity" or "GlobalAveragePool":
                return Unary(node.OpType);
            case "Clip":
                {
                    double min = Opset < 11 ? F("min", double.NegativeInfinity) : Has(1) ? Scalar(inputs[1], node) : double.NegativeInfinity;
                    double max = Opset < 11 ? F("max", double.PositiveInfinity) : Has(2) ? Scalar(inputs[2], node) : double.PositiveInfinity;
                    return Unary("Clip", floats: new() { ["min"] = min, ["max"] = max });
                }
            case "LeakyRelu": return Unary("LeakyRelu", floats: new() { ["alpha"] = F("alpha", 0.01) });
            case "HardSigmoid": return Unary("HardSigmoid", floats: new() { ["alpha"] = F("alpha", 0.2), ["beta"] = F("beta", 0.5) });
            case "Add" or "Sub" or "Mul" or "Div":
                if (a.ContainsKey("axis")) throw Refuse(node, "legacy broadcasting with an axis is not supported");
                return new GraphNode { Op = node.OpType, Name = name, Inputs = [x, Operand(inputs[1], node)], Outputs = [] };
            case "AveragePool" or "MaxPool":
                {
                    if (S("auto_pad", "NOTSET") is not ("NOTSET" or "VALID")) throw Refuse(node, "auto_pad SAME_* pooling is not supported");
                    if (node.OpType == "MaxPool" && node.Output.Count > 1 && node.Output[1].Length > 0 && _readers.ContainsKey(node.Output[1]))
                        throw Refuse(node, "its Indices output is read; only the pooled values are supported");
                    var k = L("kernel_shape");
                    if (k is not { Length: 2 }) throw Refuse(node, "only 2-D pooling (kernel_shape of two numbers) is supported");
                    var ints = new Dictionary<string, long[]>
                    {
                        ["kernel"] = k,
                        ["strides"] = L("strides") ?? [1, 1],
                        ["pads"] = L("pads") ?? [0, 0, 0, 0],
                        ["ceil_mode"] = [I("ceil_mode", 0)],
                    };
                    if (node.OpType == "MaxPool") ints["dilations"] = L("dilations") ?? [1, 1];
                    else ints["count_include_pad"] = [I("count_include_pad", 0)];
                    return Unary(node.OpType, ints);
                }
            case "ReduceMean":
                {
                    var axes = Has(1) ? Ints(inputs[1], node) : L("axes");
                    var ints = new Dictionary<string, long[]> { ["keepdims"] = [I("keepdims", 1)] };
                    if (axes is not null) ints["axes"] = axes;
                    return Unary("ReduceMean", ints);
                }
            case "Flatten": return Unary("Flatten", new() { ["axis"] = [I("axis", 1)] });
            case "Reshape":
                {
                    var ints = new Dictionary<string, long[]> { ["allowzero"] = [I("allowzero", 0)] };
                    if (!IsConstant(inputs[1]))
                        return new GraphNode { Op = "Reshape", Name = name, Inputs = [x, N(inputs[1])], Outputs = [], Ints = ints };
                    var shape = Ints(inputs[1], node);
                    ints["shape"] = shape;
                    // A shape written for the exported batch (torch.onnx with a batch of one): the batch stays the batch.
                    if (shape.Length >= 2 && declaredBatch > 0 && shape[0] == declaredBatch) ints["batch_dim"] = [1];
                    return Unary("Reshape", ints);
                }
            case "Squeeze" or "Unsqueeze":
                {
                    var axes = Has(1) ? Ints(inputs[1], node) : L("axes");
                    if (axes is null && node.OpType == "Unsqueeze") throw Refuse(node, "Unsqueeze without axes");
                    return Unary(node.OpType, axes is null ? null : new() { ["axes"] = axes });
                }
            case "Concat":
                return new GraphNode { Op = "Concat", Name = name, Inputs = inputs.Select(i => Operand(i, node)).ToArray(), Outputs = [], Ints = new Dictionary<string, long[]> { ["axis"] = [I("axis", 1)] } };
            case "Split":
                {
                    var split = Has(1) ? Ints(inputs[1], node) : L("split");
                    var ints = new Dictionary<string, long[]> { ["axis"] = [I("axis", 0)] };
                    if (split is not null) ints["split"] = split;
                    else ints["parts"] = [node.Output.Count];
                    if (split is not null && split.Length != node.Output.Count) throw Refuse(node, $"{split.Length} split sizes for {node.Output.Count} outputs");
                    return new GraphNode { Op = "Split", Name = name, Inputs = [x], Outputs = node.Output.Select(N).ToArray(), Ints = ints };
                }
            case "Pad":
                {
                    if (S("mode", "constant") != "constant") throw Refuse(node, $"mode '{S("mode", "constant")}' (only constant padding is supported)");
                    if (Has(3)) throw Refuse(node, "padding of chosen axes (the axes input) is not supported");
                    var pads = Opset < 11 ? L("pads") : Has(1) ? Ints(inputs[1], node) : null;
                    if (pads is null || pads.Length % 2 != 0) throw Refuse(node, "pads missing or of odd length");
                    double value = Opset < 11 ? F("value", 0) : Has(2) ? Scalar(inputs[2], node) : 0;
                    return Unary("Pad", new() { ["pads"] = pads }, new() { ["value"] = value });
                }
            case "Dropout":
                {
                    double ratio = Opset < 12 ? F("ratio", 0.5) : Has(1) ? Scalar(inputs[1], node) : 0.5;
                    if (node.Output.Count > 1 && node.Output[1].Length > 0 && _readers.ContainsKey(node.Output[1]))
                        throw Refuse(node, "its mask output is read; only the data output is supported");
                    return Unary("Dropout", floats: new() { ["ratio"] = ratio });
                }
            case "Shape":
                {
                    var ints = new Dictionary<string, long[]>();
                    if (a.ContainsKey("start")) ints["start"] = [I("start", 0)];
                    if (a.ContainsKey("end")) ints["end"] = [I("end", 0)];
                    return Unary("Shape", ints.Count > 0 ? ints : null);
                }
            case "Gather":
                return new GraphNode { Op = "Gather", Name = name, Inputs = [Operand(inputs[0], node), Operand(inputs[1], node)], Outputs = [], Ints = new Dictionary<string, long[]> { ["axis"] = [I("axis", 0)] } };
            case "Cast":
                {
                    long to = I("to", 1);
                    if (to is not (1 or 6 or 7)) throw Refuse(node, $"cast to data type {to} (float, int32 and int64 are supported)");
                    return Unary("Cast", new() { ["to"] = [to] });
                }
            default:
                throw Refuse(node, $"operator not supported (supported: {string.Join(", ", OnnxImporter.Supported)})");
        }
    }

    private GraphNode Linear(NodeProto node, string name, string x, Tensor weight, string weightName, string? biasName, double alpha, double beta)
    {
        if (weight.dim() != 2) throw Refuse(node, $"weight of rank {weight.dim()}");
        // A MatMul's weight is a parameter of its own in PyTorch (x @ self.proj): the module takes its name.
        string module = node.OpType == "MatMul" && !weightName.EndsWith(".weight", StringComparison.Ordinal) && Valid(weightName) && Free(weightName)
            ? Take(weightName)
            : ModuleName(node, name, [(weightName, "weight"), .. biasName is null ? [] : new[] { (biasName, "bias") }]);
        _sd[$"{module}.weight"] = weight.mul(alpha).to(float32);
        if (biasName is not null)
        {
            using var b = Value(biasName, node);
            if (b.numel() != weight.shape[0] && b.numel() != 1)
                throw Refuse(node, $"bias of {b.numel()} elements for {weight.shape[0]} outputs");
            _sd[$"{module}.bias"] = b.to(float32).flatten().expand(weight.shape[0]).mul(beta).contiguous();
        }
        return new GraphNode { Op = "Linear", Name = name, Module = module, Inputs = [x], Outputs = [], Shape = weight.shape, Bias = biasName is not null };
    }

    /// <summary>The module name of a parametrised node: the common prefix of its initializers when they are named as a
    /// state dict names them (<c>layer1.0.conv1.weight</c>, <c>….bias</c>), else the node's name made a valid module
    /// name (CNTK's <c>Convolution249</c>); unique, and never a prefix of another.</summary>
    private string ModuleName(NodeProto node, string nodeName, (string Name, string Suffix)[] tensors)
    {
        string first = tensors[0].Name;
        string suffix = "." + tensors[0].Suffix;
        if (first.EndsWith(suffix, StringComparison.Ordinal))
        {
            string prefix = first[..^suffix.Length];
            if (tensors.All(t => t.Name == $"{prefix}.{t.Suffix}") && Valid(prefix) && Free(prefix)) return Take(prefix);
        }
        string baseName = new(nodeName.Trim('/').Select(c => char.IsAsciiLetterOrDigit(c) || c == '_' || c == '-' ? c : '_').ToArray());
        if (baseName.Length == 0 || baseName.Length > 150) baseName = $"{node.OpType}_{_modules.Count}";
        string candidate = baseName;
        for (int i = 2; !Free(candidate); i++) candidate = $"{baseName}_{i}";
        return Take(candidate);
    }

    private static bool Valid(string module) =>
        module.Split('.').All(p => p.Length is > 0 and <= 200 && p.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-'))
        && module != "constants" && !module.StartsWith("constants.", StringComparison.Ordinal);

    private bool Free(string module)
    {
        if (_modules.Contains(module) || _containers.Contains(module) || module == "constants") return false;
        for (int dot = module.IndexOf('.'); dot > 0; dot = module.IndexOf('.', dot + 1))
            if (_modules.Contains(module[..dot])) return false;
        return true;
    }

    private string Take(string module)
    {
        _modules.Add(module);
        for (int dot = module.IndexOf('.'); dot > 0; dot = module.IndexOf('.', dot + 1)) _containers.Add(module[..dot]);
        return module;
    }
}
