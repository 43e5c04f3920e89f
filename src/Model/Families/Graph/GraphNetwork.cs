using Harness.Model.Channels;
using Harness.Model.Layers;
using Harness.Model.Networks;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Harness.Model.Families;

/// <summary>
/// A network imported from a graph (an ONNX file): its <see cref="GraphSpec"/> run node by node with TorchSharp
/// operators. Convs, BatchNorms and linear layers are modules at the state-dict names of the source's initializers
/// (<c>layer1.0.conv1.weight</c> for a torch.onnx export; the node's name where the source's names say nothing, as
/// CNTK's <c>Parameter91</c>), so checkpoints, masks, fine-grained pruning, training and metrics treat it like a
/// declared family; large constants (a preprocessing mean image) are buffers of the <c>constants</c> module.
/// The classifier is the <c>Linear</c> node whose output the network returns.
/// </summary>
public sealed class GraphNetwork : ExplicitModule, IPrunableNetwork, IScope, INormFolding
{
    /// <summary>The family name of imported networks (metadata's <c>architecture</c>).</summary>
    public const string FamilyName = "graph";

    private readonly nn.Module?[] _nodeModules;
    private readonly Dictionary<string, Tensor> _constants = new(StringComparer.Ordinal);
    private readonly HashSet<string> _bufferNames = new(StringComparer.Ordinal);
    private readonly GraphScope _constantsModule;
    private readonly Dictionary<string, int> _producer = new(StringComparer.Ordinal);

    public GraphNetwork(GraphWidths widths) : base(nameof(GraphNetwork))
    {
        widths.Validate();
        Widths = widths;
        var spec = widths.Spec;
        _nodeModules = new nn.Module?[spec.Nodes.Count];
        var scopes = new Dictionary<string, nn.Module>(StringComparer.Ordinal);
        for (int i = 0; i < spec.Nodes.Count; i++)
        {
            var node = spec.Nodes[i];
            foreach (var o in node.Outputs) _producer[o] = i;
            if (node.Module is null) continue;
            nn.Module module = node.Op switch
            {
                "Conv" => new PrunableConv2d(node.Shape![1] * node.Int("group", 1), node.Shape[0], GraphOps.Geometry(node), node.Int("group", 1), node.Bias),
                "Linear" => new PrunableLinear(node.Shape![1], node.Shape[0], node.Bias),
                _ => nn.BatchNorm2d(node.Shape![0], eps: node.Float("epsilon", 1e-5), momentum: node.Float("momentum", 0.1)),
            };
            if (module is BatchNorm2d norm)
                using (no_grad())
                {
                    norm.weight!.fill_(1.0);
                    norm.bias!.zero_();
                }
            Register(scopes, node.Module, module);
            _nodeModules[i] = module;
        }
        foreach (var (name, c) in spec.Constants)
            _constants[name] = c.Ints is not null ? tensor(c.Ints, int64).reshape(c.Shape) : tensor(c.Floats!.Select(v => (float)v).ToArray()).reshape(c.Shape);
        _constantsModule = new GraphScope();
        foreach (var (name, shape) in spec.Buffers)
        {
            _constantsModule.AddBuffer(BufferName(name), zeros(shape));
            _bufferNames.Add(name);
        }
        if (spec.Buffers.Count > 0) Add("constants", _constantsModule);
    }

    /// <summary>The state-dict name (under <c>constants.</c>) of a large constant: its graph name with every
    /// character other than a letter, digit or '_' replaced by '_'.</summary>
    public static string BufferName(string name) => new(name.Select(c => char.IsAsciiLetterOrDigit(c) || c == '_' ? c : '_').ToArray());

    /// <summary>The graph and every width.</summary>
    public GraphWidths Widths { get; private set; }

    public GraphSpec Spec => Widths.Spec;

    public string Architecture => FamilyName;

    public nn.Module<Tensor, Tensor> Module => this;

    public int NumClasses => Widths.NumClasses;

    public PrunableLinear Classifier => (PrunableLinear)_nodeModules[_producer[Spec.Output]]!;

    public IReadOnlyList<IReadOnlyList<string>> Stages => Widths.Stages;

    public ChannelDeclaration DeclareChannels() => Widths.DeclareChannels();

    public IPrunableNetwork Rebuild(IReadOnlyDictionary<string, int> spaceWidths) => Widths.WithSpaceWidths(spaceWidths).Build();

    public IEnumerable<(string Name, PrunableLayer Layer)> PrunableLayers() => ModuleOrder.PrunableLayers(this);

    public string MetadataJson() => GraphMetadata.ToJson(Widths);

    public void ReplaceClassifier(int numClasses)
    {
        if (numClasses < 1) throw new ArgumentOutOfRangeException(nameof(numClasses), numClasses, "must be at least 1");
        int index = _producer[Spec.Output];
        var node = Spec.Nodes[index];
        var old = Classifier;
        var head = new PrunableLinear(old.InFeatures, numClasses, old.Bias is not null);
        Harness.Runtime.Placement.Of(old.Weight).Apply(head);
        ReplaceAt(node.Module!, head);
        _nodeModules[index] = head;
        old.Dispose();
        Widths = (GraphWidths)Widths.WithClasses(numClasses);
    }

    public bool IsFolded { get; private set; }

    /// <summary>Folds every BatchNorm whose input is a conv's output read by nothing else into that conv; its module
    /// path then holds an identity (eval mode only, as for every family).</summary>
    public void FoldNorms()
    {
        var readers = Readers(Spec);
        for (int j = 0; j < Spec.Nodes.Count; j++)
        {
            var node = Spec.Nodes[j];
            if (_nodeModules[j] is not BatchNorm2d norm || !_producer.TryGetValue(node.Inputs[0], out int i)
                || _nodeModules[i] is not PrunableConv2d conv || readers[node.Inputs[0]] != 1) continue;
            using (var scope = NewDisposeScope())
            {
                var (w, b) = BatchNormFolding.FoldedTensors(conv, norm);
                conv.Replace(w, b);
            }
            var identity = nn.Identity();
            ReplaceAt(node.Module!, identity);
            _nodeModules[j] = identity;
            norm.Dispose();
            IsFolded = true;
        }
    }

    private static Dictionary<string, int> Readers(GraphSpec spec)
    {
        var readers = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var n in spec.Nodes)
            foreach (var i in n.Inputs) readers[i] = readers.GetValueOrDefault(i) + 1;
        return readers;
    }

    public override Tensor forward(Tensor input)
    {
        RequireEvalWhenFolded(IsFolded);
        return RunPrepared(input, null);
    }

    /// <summary>The classifier's input for a batch: the network's features (ML.NET's 512 pooled ResNet features,
    /// flattened).</summary>
    public Tensor Features(Tensor input) => RunPrepared(input, Spec.Nodes[_producer[Spec.Output]].Inputs[0]);

    /// <summary>Runs the graph on the batch laid out as every family lays it out (channels-last on the CPU).</summary>
    private Tensor RunPrepared(Tensor input, string? stopAt)
    {
        var prepared = Harness.Runtime.MemoryLayout.Prepare(input);
        try
        {
            return Run(prepared, stopAt);
        }
        finally
        {
            if (!ReferenceEquals(prepared, input)) prepared.Dispose();
        }
    }

    private Tensor Run(Tensor input, string? stopAt = null, Action<string, Tensor>? observe = null)
    {
        var spec = Spec;
        var values = new Dictionary<string, Tensor>(StringComparer.Ordinal) { [spec.Input] = input };
        var device = input.device;
        try
        {
            for (int i = 0; i < spec.Nodes.Count; i++)
            {
                var node = spec.Nodes[i];
                var x = new Tensor[node.Inputs.Length];
                for (int j = 0; j < x.Length; j++)
                    x[j] = values.TryGetValue(node.Inputs[j], out var v) ? v : ConstantOn(node.Inputs[j], device);
                Tensor[] y = _nodeModules[i] switch
                {
                    nn.Module<Tensor, Tensor> m => [Owned(m.call(x[0]), x[0])],
                    _ => GraphOps.Run(node, x, training, spec.InputShape, j => !values.ContainsKey(node.Inputs[j])),
                };
                for (int j = 0; j < y.Length; j++)
                {
                    values[node.Outputs[j]] = y[j];
                    observe?.Invoke(node.Outputs[j], y[j]);
                }
                if (stopAt is not null && values.Remove(stopAt, out var stop)) return stop;
                // A value no later node reads is released now, so that inference holds only the live activations.
                foreach (var name in node.Inputs)
                    if (name != spec.Input && LastUse(name) == i && values.Remove(name, out var t)) t.Dispose();
            }
            values.Remove(spec.Output, out var output);
            return output!;
        }
        finally
        {
            foreach (var (name, t) in values)
                if (name != spec.Input) t.Dispose();
        }
    }

    /// <summary>A module's result as a tensor of its own (an identity hands back its input).</summary>
    private static Tensor Owned(Tensor result, Tensor input) => ReferenceEquals(result, input) ? input.alias() : result;

    /// <summary>Every value's shape on one forward pass of <paramref name="input"/> (no gradients, current mode).</summary>
    public Dictionary<string, long[]> TraceShapes(Tensor input)
    {
        var shapes = new Dictionary<string, long[]>(StringComparer.Ordinal) { [Spec.Input] = input.shape };
        using var _ = no_grad();
        using var output = Run(input, observe: (name, t) => shapes[name] = t.shape);
        return shapes;
    }

    private Dictionary<string, int>? _lastUseByName;

    private int LastUse(string name) => (_lastUseByName ??= BuildLastUse())[name];

    private Dictionary<string, int> BuildLastUse()
    {
        var last = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < Spec.Nodes.Count; i++)
            foreach (var name in Spec.Nodes[i].Inputs) last[name] = i;
        last[Spec.Output] = int.MaxValue;
        return last;
    }

    /// <summary>A constant input: a buffer, or a small constant moved to the batch's device once.</summary>
    private Tensor ConstantOn(string name, Device device)
    {
        if (_bufferNames.Contains(name)) return _constantsModule.Buffer(BufferName(name));
        var c = _constants[name];
        if (c.dtype == int64 || c.device == device) return c;
        var moved = c.to(device).DetachFromDisposeScope();
        c.Dispose();
        _constants[name] = moved;
        return moved;
    }

    /// <summary>Writes the eval-mode graph (everything but the classifier) as ONNX nodes; a conv whose only reader is
    /// a BatchNorm is written with it (folded when the exporter folds). An image-sized constant is written as the
    /// forward uses it at the export's image size, so ONNX Runtime at that size gives Harness's answers (at another
    /// size the exported graph keeps that choice).</summary>
    public string WriteFeatures(IForwardGraph graph)
    {
        var spec = Spec;
        var names = new Dictionary<string, string>(StringComparer.Ordinal) { [spec.Input] = graph.Input };
        var readers = Readers(spec);
        int head = _producer[spec.Output];
        string Name(string value)
        {
            if (names.TryGetValue(value, out var n)) return n;
            var t = _bufferNames.Contains(value) ? _constantsModule.Buffer(BufferName(value)) : _constants[value];
            // An image-sized constant (a preprocessing mean image) is what the forward uses at the exported size: itself
            // at the declared size, its per-channel means at any other (GraphOps' rule).
            bool imageSized = t.dim() >= 2 && t.shape[^2] == spec.InputShape[1] && t.shape[^1] == spec.InputShape[2];
            if (imageSized && (graph.ImageSize != spec.InputShape[1] || graph.ImageSize != spec.InputShape[2]))
            {
                using var means = t.mean([-2, -1], keepdim: true);
                return names[value] = graph.Constant($"constants.{BufferName(value)}.channel_mean", means);
            }
            return names[value] = graph.Constant($"constants.{BufferName(value)}", t);
        }
        var foldedInto = new HashSet<int>();
        for (int i = 0; i < spec.Nodes.Count; i++)
        {
            if (i == head || foldedInto.Contains(i)) continue;
            var node = spec.Nodes[i];
            string label = node.Module ?? node.Name;
            switch (_nodeModules[i])
            {
                case PrunableConv2d conv:
                    {
                        int next = i + 1;
                        if (next < spec.Nodes.Count && _nodeModules[next] is BatchNorm2d && spec.Nodes[next].Inputs[0] == node.Outputs[0] && readers[node.Outputs[0]] == 1)
                        {
                            names[spec.Nodes[next].Outputs[0]] = graph.ConvNorm(label, conv, spec.Nodes[next].Module!, (BatchNorm2d)_nodeModules[next]!, Name(node.Inputs[0]));
                            foldedInto.Add(next);
                        }
                        else names[node.Outputs[0]] = graph.Conv(label, conv, Name(node.Inputs[0]));
                        break;
                    }
                case BatchNorm2d norm:
                    names[node.Outputs[0]] = graph.BatchNorm(label, norm, Name(node.Inputs[0]));
                    break;
                case TorchSharp.Modules.Identity:
                    names[node.Outputs[0]] = Name(node.Inputs[0]); // a BatchNorm folded into its conv
                    break;
                case PrunableLinear linear:
                    {
                        var w = linear.IsMasked ? linear.EffectiveWeight() : linear.Weight.detach();
                        var inputs = new List<string> { Name(node.Inputs[0]), graph.Constant($"{label}.weight", w) };
                        if (linear.Bias is not null) inputs.Add(graph.Constant($"{label}.bias", linear.Bias));
                        names[node.Outputs[0]] = graph.Operator("Gemm", label, inputs, 1, new Dictionary<string, object> { ["transB"] = 1L })[0];
                        break;
                    }
                default:
                    var outs = WriteOperator(graph, node, node.Inputs.Select(Name).ToList());
                    for (int j = 0; j < outs.Count; j++) names[node.Outputs[j]] = outs[j];
                    break;
            }
        }
        return Name(spec.Nodes[head].Inputs[0]);
    }

    private static IReadOnlyList<string> WriteOperator(IForwardGraph graph, GraphNode node, List<string> inputs)
    {
        var a = new Dictionary<string, object>();
        string op = node.Op;
        switch (op)
        {
            case "Clip":
                inputs.Add(graph.Constant($"{node.Name}.min", tensor((float)node.Float("min", float.MinValue))));
                inputs.Add(graph.Constant($"{node.Name}.max", tensor((float)node.Float("max", float.MaxValue))));
                break;
            case "LeakyRelu": a["alpha"] = (float)node.Float("alpha", 0.01); break;
            case "HardSigmoid": a["alpha"] = (float)node.Float("alpha", 0.2); a["beta"] = (float)node.Float("beta", 0.5); break;
            case "AveragePool" or "MaxPool":
                a["kernel_shape"] = node.IntList("kernel")!;
                a["strides"] = node.IntList("strides") ?? [1, 1];
                a["pads"] = node.IntList("pads") ?? [0, 0, 0, 0];
                a["ceil_mode"] = node.Int("ceil_mode", 0);
                if (op == "AveragePool") a["count_include_pad"] = node.Int("count_include_pad", 0);
                else a["dilations"] = node.IntList("dilations") ?? [1, 1];
                break;
            case "ReduceMean":
                if (node.IntList("axes") is { } axes) a["axes"] = axes;
                a["keepdims"] = node.Int("keepdims", 1);
                break;
            case "Flatten" or "Concat" or "Split" or "Gather": a["axis"] = node.Int("axis", op == "Flatten" || op == "Concat" ? 1 : 0); break;
            case "Reshape" when inputs.Count == 1:
                inputs.Add(graph.Constant($"{node.Name}.shape", tensor(node.IntList("shape")!.Select((s, i) => i == 0 && node.Int("batch_dim", 0) == 1 ? -1L : s).ToArray())));
                break;
            case "Squeeze" or "Unsqueeze":
                if (node.IntList("axes") is { } ax) inputs.Add(graph.Constant($"{node.Name}.axes", tensor(ax)));
                break;
            case "Pad":
                inputs.Add(graph.Constant($"{node.Name}.pads", tensor(node.IntList("pads")!)));
                inputs.Add(graph.Constant($"{node.Name}.value", tensor((float)node.Float("value", 0))));
                break;
            case "Dropout": op = "Identity"; break;
            case "Cast": a["to"] = node.Int("to", 1); break;
        }
        if (op == "Split" && node.IntList("split") is { } split) inputs.Add(graph.Constant($"{node.Name}.split", tensor(split)));
        return graph.Operator(op, node.Name, inputs, node.Outputs.Length, a);
    }

    private void Register(Dictionary<string, nn.Module> scopes, string path, nn.Module module)
    {
        var parts = path.Split('.');
        nn.Module parent = this;
        string prefix = "";
        for (int i = 0; i < parts.Length - 1; i++)
        {
            prefix = prefix.Length == 0 ? parts[i] : $"{prefix}.{parts[i]}";
            if (!scopes.TryGetValue(prefix, out var scope))
            {
                scope = new GraphScope();
                ((IScope)parent).AddChild(parts[i], scope);
                scopes[prefix] = scope;
            }
            parent = scope;
        }
        ((IScope)parent).AddChild(parts[^1], module);
    }

    private void ReplaceAt(string path, nn.Module module)
    {
        var parts = path.Split('.');
        nn.Module parent = this;
        foreach (var p in parts[..^1])
            parent = parent.named_children().First(c => c.name == p).module;
        ((IScope)parent).ReplaceChild(parts[^1], module);
    }

    void IScope.AddChild(string name, nn.Module module) => Add(name, module);

    void IScope.ReplaceChild(string name, nn.Module module)
    {
        register_module(name, null!);
        register_module(name, module);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
            foreach (var c in _constants.Values) c.Dispose();
        base.Dispose(disposing);
    }
}
