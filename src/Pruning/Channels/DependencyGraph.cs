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

    /// <summary>For each layer name: the (group space, role) pairs it takes part in.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<(string Space, ChannelRole Role)>> LayerRoles { get; }

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
        var roles = new Dictionary<string, List<(string, ChannelRole)>>(StringComparer.Ordinal);
        foreach (var s in spaces)
            foreach (var m in s.Members)
            {
                if (!roles.TryGetValue(m.Layer, out var list)) roles[m.Layer] = list = [];
                list.Add((Find(s.Name), m.Role));
            }
        foreach (var (layer, list) in roles)
        {
            if (list.Count(r => r.Item2 == ChannelRole.In) > 1 || list.Count(r => r.Item2 != ChannelRole.In) > 1)
                throw new ArgumentException($"layer '{layer}' is declared in more than one space for the same dimension: {string.Join(", ", list)}");
        }
        LayerRoles = roles.ToDictionary(kv => kv.Key, kv => (IReadOnlyList<(string, ChannelRole)>)kv.Value, StringComparer.Ordinal);
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
