using Harness.Model;

namespace Harness.Pruning.Channels;

/// <summary>
/// The channel dependency graph of an EfficientNet, built from its widths and structure (no tracing). Each
/// "channel space" is a set of channels that flows between layers: the stem output, each block's expanded,
/// squeeze and output channels, and the head output. A block without an expand conv works on its input space; a
/// residual add ties a block's output space to its input space. Each resulting space is one group listing every
/// (layer, role) that must be cut together. The 3 input channels and the classifier outputs are never pruned.
/// For torchvision's B0 this gives 40 groups: 1 stem, 15 expand, 16 squeeze-excitation, 7 stage trunks, 1 head.
/// </summary>
public sealed class DependencyGraph
{
    private readonly Dictionary<string, string> _parent = new();
    private readonly Dictionary<string, List<GroupMember>> _members = new();
    private readonly List<string> _order = [];

    public EfficientNetWidths Widths { get; }
    public IReadOnlyList<ChannelGroup> Groups { get; }

    /// <summary>For each layer name: the space of its output channels and of its input channels (null: not prunable).</summary>
    public IReadOnlyDictionary<string, (string? Out, string? In)> LayerSpaces { get; }

    private readonly Dictionary<string, (string? Out, string? In)> _layerSpaces = new();

    private DependencyGraph(EfficientNetWidths widths)
    {
        Widths = widths;
        string inSpace = Add("stem");
        Member(inSpace, "features.0.0", MemberRole.Out);
        Member(inSpace, "features.0.1", MemberRole.BatchNorm);
        Layer("features.0.0", inSpace, null);
        Layer("features.0.1", inSpace, null);
        for (int k = 0; k < widths.Blocks.Count; k++)
        {
            var b = widths.Blocks[k];
            string p = $"{b.Prefix}.block";
            string id = $"{b.Stage}.{b.Index}";
            string outSpace = Add($"block {id} out");
            if (b.UseResidual) Union(outSpace, inSpace);
            string exp = b.HasExpand ? Add($"block {id} expand") : inSpace;
            string sq = Add($"block {id} squeeze");
            int d = 0;
            if (b.HasExpand)
            {
                Member(inSpace, $"{p}.0.0", MemberRole.In);
                Member(exp, $"{p}.0.0", MemberRole.Out);
                Member(exp, $"{p}.0.1", MemberRole.BatchNorm);
                Layer($"{p}.0.0", exp, inSpace);
                Layer($"{p}.0.1", exp, null);
                d = 1;
            }
            Member(exp, $"{p}.{d}.0", MemberRole.Depthwise);
            Member(exp, $"{p}.{d}.1", MemberRole.BatchNorm);
            Layer($"{p}.{d}.0", exp, null);
            Layer($"{p}.{d}.1", exp, null);
            Member(exp, $"{p}.{d + 1}.fc1", MemberRole.In);
            Member(sq, $"{p}.{d + 1}.fc1", MemberRole.Out);
            Member(sq, $"{p}.{d + 1}.fc2", MemberRole.In);
            Member(exp, $"{p}.{d + 1}.fc2", MemberRole.Out);
            Layer($"{p}.{d + 1}.fc1", sq, exp);
            Layer($"{p}.{d + 1}.fc2", exp, sq);
            Member(exp, $"{p}.{d + 2}.0", MemberRole.In);
            Member(outSpace, $"{p}.{d + 2}.0", MemberRole.Out);
            Member(outSpace, $"{p}.{d + 2}.1", MemberRole.BatchNorm);
            Layer($"{p}.{d + 2}.0", outSpace, exp);
            Layer($"{p}.{d + 2}.1", outSpace, null);
            inSpace = outSpace;
        }
        int h = widths.StageCount + 1;
        string head = Add("head");
        Member(inSpace, $"features.{h}.0", MemberRole.In);
        Member(head, $"features.{h}.0", MemberRole.Out);
        Member(head, $"features.{h}.1", MemberRole.BatchNorm);
        Member(head, "classifier.1", MemberRole.In);
        Layer($"features.{h}.0", head, inSpace);
        Layer($"features.{h}.1", head, null);
        Layer("classifier.1", null, head);

        var groups = new List<ChannelGroup>();
        foreach (var root in _order.Select(Find).Distinct())
        {
            var members = _order.Where(s => Find(s) == root).SelectMany(s => _members[s]).ToList();
            groups.Add(new ChannelGroup(groups.Count, KindOf(root), root, SpaceWidth(root), members));
        }
        Groups = groups;
        LayerSpaces = _layerSpaces.ToDictionary(kv => kv.Key, kv => (kv.Value.Out is null ? null : Find(kv.Value.Out), kv.Value.In is null ? null : Find(kv.Value.In)));
    }

    public static DependencyGraph Build(EfficientNetWidths widths) => new(widths);

    /// <summary>The root space a space belongs to (after residual unions).</summary>
    public string Find(string s)
    {
        while (_parent[s] != s) s = _parent[s] = _parent[_parent[s]];
        return s;
    }

    private string Add(string space)
    {
        _parent[space] = space;
        _members[space] = [];
        _order.Add(space);
        return space;
    }

    private void Union(string a, string b)
    {
        string ra = Find(a), rb = Find(b);
        if (ra == rb) return;
        // Keep the earlier space as the root, so a trunk is named after its first producer.
        if (_order.IndexOf(ra) < _order.IndexOf(rb)) _parent[rb] = ra; else _parent[ra] = rb;
    }

    private void Member(string space, string layer, MemberRole role) => _members[space].Add(new GroupMember(layer, role));

    private void Layer(string name, string? outSpace, string? inSpace) => _layerSpaces[name] = (outSpace, inSpace);

    private static string KindOf(string space) =>
        space == "stem" ? "stem" : space == "head" ? "head" : space.EndsWith(" expand") ? "expand"
        : space.EndsWith(" squeeze") ? "squeeze-excitation" : "trunk";

    /// <summary>Current width of a space.</summary>
    public int SpaceWidth(string space)
    {
        space = Find(space);
        if (space == "stem") return Widths.Stem;
        if (space == "head") return Widths.Head;
        var b = BlockOf(space);
        return space.EndsWith(" expand") ? b.Expanded : space.EndsWith(" squeeze") ? b.Squeeze : b.Out;
    }

    private BlockWidths BlockOf(string space)
    {
        string id = space.Split(' ')[1];
        return Widths.Blocks.First(b => $"{b.Stage}.{b.Index}" == id);
    }

    /// <summary>The widths after giving each group's space a new width.</summary>
    public EfficientNetWidths WithWidths(IReadOnlyDictionary<string, int> newWidth)
    {
        int W(string space) => newWidth.TryGetValue(Find(space), out var w) ? w : SpaceWidth(space);
        string inSpace = "stem";
        var blocks = new List<BlockWidths>();
        foreach (var b in Widths.Blocks)
        {
            string id = $"{b.Stage}.{b.Index}";
            int inW = W(inSpace);
            blocks.Add(b with
            {
                In = inW,
                Expanded = b.HasExpand ? W($"block {id} expand") : inW,
                Squeeze = W($"block {id} squeeze"),
                Out = W($"block {id} out"),
            });
            inSpace = $"block {id} out";
        }
        return Widths with { Stem = W("stem"), Blocks = blocks, Head = W("head") };
    }

    /// <summary>The graph as text: one line per group.</summary>
    public string ToText() => string.Join("\n", Groups.Select(g => g.Describe())) + "\n";
}
