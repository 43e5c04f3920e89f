using Harness.Model.Channels;

namespace Harness.Model.Families;

/// <summary>
/// The channel spaces of an imported network, derived from its graph in the vocabulary of the declared families: a
/// conv (or a non-classifier linear layer) opens a space of its output channels, which BatchNorms, activations and
/// pools pass on; a depthwise conv (groups = in = out) is a member of its input's space; elementwise operators
/// (Add, Sub, Mul, Div — a squeeze-excitation's broadcast scale included) tie their operands' spaces; Flatten or
/// Reshape of globally pooled features passes the channels to the linear layer that reads them. The network's input
/// and the classifier's outputs are in no space. What the derivation cannot express yet — a grouped conv
/// (1 &lt; groups &lt; channels), a concatenation or split, a flatten of a spatial map, a per-channel constant, a
/// reshape of channels — leaves the affected spaces (and every space tied to them) untouched, each with the reason.
/// </summary>
public sealed class GraphChannels
{
    private readonly List<string> _spaces = [];
    private readonly Dictionary<string, int> _width = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<ChannelMember>> _members = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _parent = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _pins = new(StringComparer.Ordinal);
    private readonly List<(string A, string B)> _ties = [];
    private readonly List<(string A, string B, string Why)> _tieReasons = [];
    private readonly HashSet<string> _squeeze = new(StringComparer.Ordinal);
    private readonly HashSet<string> _expand = new(StringComparer.Ordinal);

    /// <summary>Per node (by index): the space of its first input's channels and of its output's (null: none).</summary>
    public IReadOnlyList<(string? In, string? Out)> NodeSpaces { get; }

    /// <summary>The declaration of every space not left untouched.</summary>
    public ChannelDeclaration Declaration { get; }

    /// <summary>Spaces left untouched, with why.</summary>
    public IReadOnlyList<(string Space, string Why)> Untouched { get; }

    /// <summary>Every tie, with the node that makes it (an Add of a residual, a squeeze-excitation's Mul).</summary>
    public IReadOnlyList<(string A, string B, string Why)> Ties => _tieReasons;

    /// <summary>The derivation as text for <c>prune channel --graph</c>: why spaces are tied, and what is untouched.</summary>
    public string Explain() =>
        string.Concat(Ties.Select(t => $"tie {t.A} = {t.B}: {t.Why}\n")) +
        string.Concat(Untouched.Select(u => $"untouched {u.Space}: {u.Why}\n"));

    public GraphChannels(GraphSpec spec)
    {
        var valueSpace = new Dictionary<string, string?>(StringComparer.Ordinal) { [spec.Input] = null };
        var pooled = new HashSet<string>(StringComparer.Ordinal);
        var nodeSpaces = new List<(string?, string?)>();
        var producer = new Dictionary<string, GraphNode>(StringComparer.Ordinal);
        foreach (var n in spec.Nodes) foreach (var o in n.Outputs) producer[o] = n;
        string classifier = producer[spec.Output].Module!;
        string? first = null;
        string? Space(string value) => valueSpace.TryGetValue(value, out var s) ? s : null;
        bool Constant(string value) => !valueSpace.ContainsKey(value);

        foreach (var node in spec.Nodes)
        {
            string x = node.Inputs[0];
            string? input = Space(x);
            string? output = null;
            bool keepPooled = false;
            switch (node.Op)
            {
                case "Conv":
                    {
                        long groups = node.Int("group", 1), cin = node.Shape![1] * groups, cout = node.Shape[0];
                        if (groups > 1 && groups == cin && cin == cout)
                        {
                            if (input is not null) Member(input, node.Module!, ChannelRole.Depthwise);
                            if (input is not null) _expand.Add(input);
                            output = input;
                            break;
                        }
                        if (input is not null) Member(input, node.Module!, ChannelRole.In);
                        output = Open(node.Module!, (int)cout);
                        Member(output, node.Module!, ChannelRole.Out);
                        first ??= output;
                        if (pooled.Contains(x)) _squeeze.Add(output);
                        if (groups > 1)
                        {
                            if (input is not null) Pin(input, $"read by the grouped conv {node.Module} ({groups} groups)");
                            Pin(output, $"the output of a grouped conv ({groups} groups)");
                        }
                        break;
                    }
                case "BatchNorm":
                    if (input is not null) Member(input, node.Module!, ChannelRole.BatchNorm);
                    output = input;
                    keepPooled = true;
                    break;
                case "Linear":
                    if (input is not null)
                    {
                        Member(input, node.Module!, ChannelRole.In);
                        if (!pooled.Contains(x)) Pin(input, $"read by {node.Module} without being pooled to one value per channel");
                    }
                    if (node.Module != classifier)
                    {
                        output = Open(node.Module!, (int)node.Shape![0]);
                        Member(output, node.Module!, ChannelRole.Out);
                    }
                    keepPooled = true;
                    break;
                case "Relu" or "Clip" or "LeakyRelu" or "Sigmoid" or "HardSigmoid" or "HardSwish" or "Dropout" or "Identity" or "MaxPool" or "AveragePool":
                    output = input;
                    keepPooled = true;
                    break;
                case "GlobalAveragePool":
                    output = input;
                    pooled.Add(node.Outputs[0]);
                    break;
                case "ReduceMean":
                    {
                        var axes = node.IntList("axes") ?? [];
                        bool spatial = axes.Length == 2 && axes.All(a => a is 2 or 3 or -1 or -2) && node.Int("keepdims", 1) != 0;
                        if (spatial) pooled.Add(node.Outputs[0]);
                        else if (input is not null) Pin(input, $"reduced over other axes than height and width by {node.Name}");
                        output = spatial ? input : null;
                        break;
                    }
                case "Flatten" or "Reshape" or "Squeeze" or "Unsqueeze":
                    if (pooled.Contains(x) && (node.Op != "Flatten" || node.Int("axis", 1) == 1))
                    {
                        output = input;
                        keepPooled = true;
                    }
                    else if (input is not null)
                        Pin(input, node.Op == "Flatten"
                            ? $"flattened with its height and width by {node.Name} (each channel's block of columns is not derived yet)"
                            : $"reshaped by {node.Name}");
                    break;
                case "Add" or "Sub" or "Mul" or "Div":
                    {
                        string y = node.Inputs[1];
                        string? other = Space(y);
                        if (input is not null && other is not null) Tie(input, other, $"{node.Op} {node.Name}");
                        else if (input is not null && !Constant(y) || other is not null && !Constant(x))
                            Pin(input ?? other!, $"joined by {node.Name} with values that have no prunable channels (the input)");
                        else if (Constant(y) && input is not null && ConstantChannels(spec, y) > 1)
                            Pin(input, $"{node.Name} applies a per-channel constant");
                        output = input ?? other;
                        keepPooled = pooled.Contains(x) && (Constant(y) || pooled.Contains(y));
                        break;
                    }
                case "Concat":
                    foreach (var i in node.Inputs)
                        if (Space(i) is { } s) Pin(s, $"concatenated by {node.Name} (concatenation offsets are not derived yet)");
                    break;
                case "Split":
                    if (input is not null) Pin(input, $"split by {node.Name}");
                    break;
                case "Pad":
                    {
                        var pads = node.IntList("pads")!;
                        int rank = pads.Length / 2;
                        bool channels = rank >= 2 && (pads[1] != 0 || pads[rank + 1] != 0);
                        if (channels && input is not null) Pin(input, $"padded along the channels by {node.Name}");
                        output = channels ? null : input;
                        break;
                    }
            }
            foreach (var o in node.Outputs) valueSpace[o] = output;
            if (keepPooled && pooled.Contains(x)) pooled.Add(node.Outputs[0]);
            nodeSpaces.Add((input, output));
        }
        NodeSpaces = nodeSpaces;

        // A pin holds the whole tied set.
        var untouched = new List<(string, string)>();
        var pinnedRoots = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (space, why) in _pins) pinnedRoots.TryAdd(Root(space), why);
        var declaration = new ChannelDeclaration();
        string? head = Space(producer[spec.Output].Inputs[0]);
        foreach (var s in _spaces)
        {
            if (pinnedRoots.TryGetValue(Root(s), out var why))
            {
                untouched.Add((s, _pins.TryGetValue(s, out var own) ? own : $"tied to a space that is {why}"));
                continue;
            }
            declaration.Space(s, Kind(s, first, head), _width[s]);
            foreach (var m in _members[s]) declaration.Member(s, m.Layer, m.Role);
        }
        foreach (var (a, b) in _ties)
            if (!pinnedRoots.ContainsKey(Root(a))) declaration.Tie(a, b);
        Declaration = declaration;
        Untouched = untouched;
    }

    private SpaceKind Kind(string s, string? first, string? head)
    {
        if (s == first) return SpaceKind.Stem;
        if (head is not null && Root(s) == Root(head)) return SpaceKind.Head;
        if (_squeeze.Contains(s)) return SpaceKind.SqueezeExcitation;
        if (_ties.Any(t => t.A == s || t.B == s)) return SpaceKind.Trunk;
        if (_expand.Contains(s)) return SpaceKind.Expand;
        return SpaceKind.Inner;
    }

    private static long ConstantChannels(GraphSpec spec, string name)
    {
        long[] shape = spec.Constants.TryGetValue(name, out var c) ? c.Shape : spec.Buffers.TryGetValue(name, out var b) ? b : [];
        return shape.Length >= 3 ? shape[^3] : shape.Length == 1 ? 1 : 1;
    }

    private string Open(string name, int width)
    {
        _spaces.Add(name);
        _width[name] = width;
        _members[name] = [];
        _parent[name] = name;
        return name;
    }

    private void Member(string space, string layer, ChannelRole role) => _members[space].Add(new ChannelMember(layer, role));

    private void Pin(string space, string why) => _pins.TryAdd(space, why);

    private void Tie(string a, string b, string why)
    {
        if (a == b) return;
        _ties.Add((a, b));
        _tieReasons.Add((a, b, why));
        string ra = Root(a), rb = Root(b);
        if (ra != rb) _parent[rb] = ra;
    }

    private string Root(string s)
    {
        while (_parent[s] != s) s = _parent[s] = _parent[_parent[s]];
        return s;
    }
}
