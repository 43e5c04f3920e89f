using Harness.Model.Channels;
using Harness.Model.Networks;

namespace Harness.Pruning.Channels;

/// <summary>
/// The channel dependency graph of any <see cref="IPrunableNetwork"/>, made from its
/// <see cref="ChannelDeclaration"/> alone (no tracing, no shape heuristics): tied spaces are joined (<see cref="ChannelDeclaration.TiedRoots"/>),
/// and each resulting set is one <see cref="ChannelGroup"/> listing every (layer, role) that must be cut together,
/// in declaration order. The network's input channels and the classifier's outputs belong to no group.
/// For torchvision's EfficientNet-B0 this gives 40 groups: 1 stem, 15 expand, 16 squeeze-excitation, 7 stage
/// trunks, 1 head.
/// </summary>
public sealed class DependencyGraph
{
    private readonly IReadOnlyDictionary<string, string> _root;
    private readonly Dictionary<string, int> _order = new(StringComparer.Ordinal);

    public ChannelDeclaration Declaration { get; }
    public IReadOnlyList<ChannelGroup> Groups { get; }

    /// <summary>For each layer name: the group spaces it takes part in, with its role and where the space's channels
    /// sit in the layer's dimension.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<LayerRole>> LayerRoles { get; }

    private DependencyGraph(ChannelDeclaration declaration)
    {
        Declaration = declaration;
        var spaces = declaration.Spaces;
        foreach (var s in spaces) _order[s.Name] = _order.Count;
        _root = declaration.TiedRoots();
        var groups = new List<ChannelGroup>();
        foreach (var root in spaces.Select(s => Find(s.Name)).Distinct())
        {
            var members = spaces.Where(s => Find(s.Name) == root).SelectMany(s => s.Members).ToList();
            var first = spaces[_order[root]];
            groups.Add(new ChannelGroup(groups.Count, first.Kind, root, first.Width, members));
        }
        Groups = groups;
        foreach (var g in groups)
            if (g.Members.Any(m => g.Channels % m.Groups != 0) || g.Members.Any(m => g.ChannelGroups % m.Groups != 0))
                throw new ArgumentException($"group {g.Id} ({g.Space}): {g.Channels} channels do not divide into the groups of its grouped convs ({string.Join(", ", g.Members.Where(m => m.Groups > 1))})");
        var roles = new Dictionary<string, List<LayerRole>>(StringComparer.Ordinal);
        foreach (var s in spaces)
            foreach (var m in s.Members)
            {
                if (!roles.TryGetValue(m.Layer, out var list)) roles[m.Layer] = list = [];
                list.Add(new LayerRole(Find(s.Name), m.Role, m.Offset, m.Block, s.Width) { Groups = m.Groups });
            }
        foreach (var (layer, list) in roles)
            foreach (bool input in new[] { true, false })
            {
                // Several spaces may share a dimension (a concatenation's parts) but never the same elements.
                var parts = list.Where(r => (r.Role == ChannelRole.In) == input).OrderBy(r => r.Offset).ToList();
                for (int i = 1; i < parts.Count; i++)
                    if (parts[i].Offset < parts[i - 1].Offset + parts[i - 1].Width)
                        throw new ArgumentException($"layer '{layer}' is declared in more than one space for the same {(input ? "input" : "output")} channels: {string.Join(", ", parts)}");
            }
        LayerRoles = roles.ToDictionary(kv => kv.Key, kv => (IReadOnlyList<LayerRole>)kv.Value, StringComparer.Ordinal);
    }

    public static DependencyGraph Build(ChannelDeclaration declaration) => new(declaration);

    public static DependencyGraph Build(IPrunableNetwork network) => new(network.DeclareChannels());

    public static DependencyGraph Build(INetworkWidths widths) => new(widths.DeclareChannels());

    /// <summary>The group space (first declared space of its tied set) a space belongs to
    /// (<see cref="ChannelDeclaration.TiedRoots"/>).</summary>
    public string Find(string s) => _root[s];

    /// <summary>Every declared space's width after giving each group (by its <see cref="ChannelGroup.Space"/>) a new
    /// width; groups not named keep theirs. What <see cref="IPrunableNetwork.Rebuild"/> takes.</summary>
    public IReadOnlyDictionary<string, int> SpaceWidths(IReadOnlyDictionary<string, int> groupWidths) =>
        Declaration.Spaces.ToDictionary(s => s.Name, s => groupWidths.TryGetValue(Find(s.Name), out var w) ? w : s.Width, StringComparer.Ordinal);

    /// <summary>The graph as text: one line per group.</summary>
    public string ToText() => string.Join("\n", Groups.Select(g => g.Describe())) + "\n";
}

/// <summary>One part a layer takes in a group: the group's space, the role, where the space's <see cref="Width"/>
/// channels start in the layer's dimension and how many elements each channel spans there.</summary>
public sealed record LayerRole(string Space, ChannelRole Role, int Offset, int Block, int Width)
{
    /// <summary>A grouped conv's groups (<see cref="ChannelMember.Groups"/>).</summary>
    public int Groups { get; init; } = 1;
}
