using Harness.Model.Channels;

namespace Harness.Model.Families;

/// <summary>
/// The channel spaces of an imported network, derived from its graph in the vocabulary of the declared families: a
/// conv (or a non-classifier linear layer) opens a space of its output channels, which BatchNorms, activations and
/// pools pass on; a depthwise conv (groups = in = out) is a member of its input's space; a grouped conv (1 &lt; groups
/// &lt; channels) is a grouped member of its input's and its output's spaces (<see cref="ChannelMember.Groups"/>); elementwise operators
/// (Add, Sub, Mul, Div — a squeeze-excitation's broadcast scale included) tie their operands' spaces; a Concat lays
/// its inputs' spaces side by side, so that the layers reading it see each at its offset (DenseNet, Inception); a
/// linear layer reading a flattened C×H×W map sees each channel as H·W consecutive columns (VGG's classifier), and
/// pooled features as one column each. The network's input and the classifier's outputs are in no space. What the
/// derivation cannot express — a grouped conv reading several spaces at once, a split, a reshape of channels, a
/// per-channel constant — leaves the affected spaces (and every space tied to them) untouched, each with the reason.
/// </summary>
public sealed class GraphChannels
{
    /// <summary>A run of channels of a value: a space's (null: channels in no space, as the network input's).</summary>
    public sealed record Segment(string? Space, int Width);

    private readonly List<string> _spaces = [];
    private readonly Dictionary<string, int> _width = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<ChannelMember>> _members = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _parent = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _pins = new(StringComparer.Ordinal);
    private readonly List<(string A, string B, string Why)> _ties = [];
    private readonly HashSet<string> _squeeze = new(StringComparer.Ordinal);
    private readonly HashSet<string> _expand = new(StringComparer.Ordinal);

    /// <summary>Per node (by index): the channel layout of its first input and of its output (null: unknown, nothing
    /// prunable).</summary>
    public IReadOnlyList<(IReadOnlyList<Segment>? In, IReadOnlyList<Segment>? Out)> NodeLayouts { get; }

    /// <summary>The declaration of every space not left untouched.</summary>
    public ChannelDeclaration Declaration { get; }

    /// <summary>Spaces left untouched, with why.</summary>
    public IReadOnlyList<(string Space, string Why)> Untouched { get; }

    /// <summary>Every tie, with the node that makes it (an Add of a residual, a squeeze-excitation's Mul).</summary>
    public IReadOnlyList<(string A, string B, string Why)> Ties => _ties;

    /// <summary>The derivation as text for <c>prune channel --graph</c>: why spaces are tied, and what is untouched.</summary>
    public string Explain() =>
        string.Concat(Ties.Select(t => $"tie {t.A} = {t.B}: {t.Why}\n")) +
        string.Concat(Untouched.Select(u => $"untouched {u.Space}: {u.Why}\n"));

    public GraphChannels(GraphSpec spec)
    {
        var layout = new Dictionary<string, IReadOnlyList<Segment>?>(StringComparer.Ordinal) { [spec.Input] = [new Segment(null, (int)spec.InputShape[0])] };
        var pooled = new HashSet<string>(StringComparer.Ordinal);
        var flattened = new HashSet<string>(StringComparer.Ordinal);
        var nodeLayouts = new List<(IReadOnlyList<Segment>?, IReadOnlyList<Segment>?)>();
        var producer = new Dictionary<string, GraphNode>(StringComparer.Ordinal);
        foreach (var n in spec.Nodes) foreach (var o in n.Outputs) producer[o] = n;
        string classifier = producer[spec.Output].Module!;
        string? first = null;
        IReadOnlyList<Segment>? Of(string value) => layout.TryGetValue(value, out var l) ? l : null;
        bool Constant(string value) => !layout.ContainsKey(value) && !producer.ContainsKey(value);

        foreach (var node in spec.Nodes)
        {
            string x = node.Inputs[0];
            var input = Of(x);
            IReadOnlyList<Segment>? output = null;
            bool keepPooled = false;
            switch (node.Op)
            {
                case "Conv":
                    {
                        long groups = node.Int("group", 1), cin = node.Shape![1] * groups, cout = node.Shape[0];
                        if (groups > 1 && groups == cin && cin == cout)
                        {
                            if (input is [{ Space: { } s }]) { Member(s, node.Module!, ChannelRole.Depthwise, 0, 1); _expand.Add(s); }
                            else PinAll(input, $"read by the depthwise conv {node.Module} across several spaces");
                            output = input;
                            break;
                        }
                        if (groups == 1) Members(input, node.Module!, ChannelRole.In, 1);
                        else if (input is [{ Space: { } gs }]) Member(gs, node.Module!, ChannelRole.In, 0, 1, (int)groups);
                        else PinAll(input, $"read by the grouped conv {node.Module} ({groups} groups) across several spaces");
                        string space = Open(node.Module!, (int)cout);
                        Member(space, node.Module!, ChannelRole.Out, 0, 1, (int)groups);
                        first ??= space;
                        if (pooled.Contains(x)) _squeeze.Add(space);
                        output = [new Segment(space, (int)cout)];
                        break;
                    }
                case "BatchNorm":
                    Members(input, node.Module!, ChannelRole.BatchNorm, 1);
                    output = input;
                    keepPooled = true;
                    break;
                case "Linear":
                    {
                        long total = input?.Sum(s => (long)s.Width) ?? 0;
                        long block = total > 0 && node.Shape![1] % total == 0 ? node.Shape[1] / total : 0;
                        bool readable = block == 1 && pooled.Contains(x) || block >= 1 && flattened.Contains(x);
                        if (readable) Members(input, node.Module!, ChannelRole.In, (int)block);
                        else PinAll(input, $"read by {node.Module} in a layout the derivation does not know");
                        if (node.Module != classifier)
                        {
                            string space = Open(node.Module!, (int)node.Shape![0]);
                            Member(space, node.Module!, ChannelRole.Out, 0, 1);
                            output = [new Segment(space, (int)node.Shape[0])];
                        }
                        else output = [new Segment(null, (int)node.Shape![0])];
                        pooled.Add(node.Outputs[0]);
                        break;
                    }
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
                        if (spatial)
                        {
                            pooled.Add(node.Outputs[0]);
                            output = input;
                        }
                        else PinAll(input, $"reduced over other axes than height and width by {node.Name}");
                        break;
                    }
                case "Flatten" or "Reshape" or "Squeeze" or "Unsqueeze":
                    if (pooled.Contains(x) && (node.Op != "Flatten" || node.Int("axis", 1) == 1))
                    {
                        output = input;
                        keepPooled = true;
                    }
                    else if (node.Op == "Flatten" && node.Int("axis", 1) == 1)
                    {
                        output = input;
                        flattened.Add(node.Outputs[0]);
                    }
                    else PinAll(input, $"reshaped by {node.Name}");
                    break;
                case "Add" or "Sub" or "Mul" or "Div":
                    {
                        string y = node.Inputs[1];
                        var other = Of(y);
                        if (Constant(y))
                        {
                            if (ConstantChannels(spec, y) > 1) PinAll(input, $"{node.Name} applies a per-channel constant");
                            output = input;
                        }
                        else if (Constant(x))
                        {
                            if (ConstantChannels(spec, x) > 1) PinAll(other, $"{node.Name} applies a per-channel constant");
                            output = other;
                        }
                        else if (input is not null && other is not null && input.Select(s => s.Width).SequenceEqual(other.Select(s => s.Width)))
                        {
                            for (int i = 0; i < input.Count; i++)
                            {
                                var (a, b) = (input[i].Space, other[i].Space);
                                if (a is not null && b is not null) Tie(a, b, $"{node.Op} {node.Name}");
                                else if (a is not null || b is not null) Pin((a ?? b)!, $"joined by {node.Name} with channels in no space (the input's)");
                            }
                            output = input;
                        }
                        else
                        {
                            PinAll(input, $"joined by {node.Name} with channels laid out otherwise");
                            PinAll(other, $"joined by {node.Name} with channels laid out otherwise");
                        }
                        keepPooled = pooled.Contains(x) && (Constant(y) || pooled.Contains(y));
                        break;
                    }
                case "Concat":
                    {
                        var parts = node.Inputs.Select(Of).ToList();
                        if (node.Int("axis", 1) is 1 or -3 && parts.All(p => p is not null))
                            output = parts.SelectMany(p => p!).ToList();
                        else
                            foreach (var p in parts) PinAll(p, $"concatenated by {node.Name} along another axis than the channels");
                        break;
                    }
                case "Split":
                    PinAll(input, $"split by {node.Name}");
                    break;
                case "Pad":
                    {
                        var pads = node.IntList("pads")!;
                        int rank = pads.Length / 2;
                        bool channels = rank >= 2 && (pads[1] != 0 || pads[rank + 1] != 0);
                        if (channels) PinAll(input, $"padded along the channels by {node.Name}");
                        else output = input;
                        break;
                    }
            }
            foreach (var o in node.Outputs) layout[o] = output;
            if (keepPooled && pooled.Contains(x)) pooled.Add(node.Outputs[0]);
            if (keepPooled && flattened.Contains(x)) flattened.Add(node.Outputs[0]);
            nodeLayouts.Add((input, output));
        }
        NodeLayouts = nodeLayouts;

        // A pin holds the whole tied set.
        var untouched = new List<(string, string)>();
        var pinnedRoots = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (space, why) in _pins) pinnedRoots.TryAdd(Root(space), why);
        var declaration = new ChannelDeclaration();
        var head = Of(producer[spec.Output].Inputs[0])?.FirstOrDefault(s => s.Space is not null)?.Space;
        foreach (var s in _spaces)
        {
            if (pinnedRoots.TryGetValue(Root(s), out var why))
            {
                untouched.Add((s, _pins.TryGetValue(s, out var own) ? own : $"tied to a space that is {why}"));
                continue;
            }
            declaration.Space(s, Kind(s, first, head), _width[s]);
            foreach (var m in _members[s]) declaration.Member(s, m.Layer, m.Role, m.Offset, m.Block, m.Groups);
        }
        foreach (var (a, b, _) in _ties)
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
        return shape.Length >= 3 ? shape[^3] : 1;
    }

    private string Open(string name, int width)
    {
        _spaces.Add(name);
        _width[name] = width;
        _members[name] = [];
        _parent[name] = name;
        return name;
    }

    private void Member(string space, string layer, ChannelRole role, int offset, int block, int groups = 1) =>
        _members[space].Add(new ChannelMember(layer, role) { Offset = offset, Block = block, Groups = groups });

    /// <summary>A layer that sees a whole layout: one member per space, at the space's offset.</summary>
    private void Members(IReadOnlyList<Segment>? layout, string layer, ChannelRole role, int block)
    {
        int offset = 0;
        foreach (var s in layout ?? [])
        {
            if (s.Space is not null) Member(s.Space, layer, role, offset, block);
            offset += s.Width;
        }
    }

    private void Pin(string space, string why) => _pins.TryAdd(space, why);

    private void PinAll(IReadOnlyList<Segment>? layout, string why)
    {
        foreach (var s in layout ?? [])
            if (s.Space is not null) Pin(s.Space, why);
    }

    private void Tie(string a, string b, string why)
    {
        if (a == b) return;
        _ties.Add((a, b, why));
        string ra = Root(a), rb = Root(b);
        if (ra != rb) _parent[rb] = ra;
    }

    private string Root(string s)
    {
        while (_parent[s] != s) s = _parent[s] = _parent[_parent[s]];
        return s;
    }
}
