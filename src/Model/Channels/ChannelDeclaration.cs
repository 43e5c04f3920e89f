namespace Harness.Model.Channels;

/// <summary>
/// An architecture's declaration of its channel spaces: which layer's output or input channels, depthwise
/// channels or BatchNorm features belong to which space, and which spaces are tied (the same channels, because a
/// residual add or a concatenation-free shortcut joins them). The dependency graph, channel importance and the
/// channel pruner read nothing else about a network's structure. Spaces are listed in the order they are declared,
/// which is the order of the groups made from them. The network's input channels and the classifier's outputs are
/// in no space: they are never pruned.
/// </summary>
public sealed class ChannelDeclaration
{
    private readonly List<ChannelSpace> _spaces = [];
    private readonly Dictionary<string, int> _index = new(StringComparer.Ordinal);
    private readonly List<List<ChannelMember>> _members = [];
    private readonly List<(string A, string B)> _ties = [];

    public IReadOnlyList<ChannelSpace> Spaces => _spaces.Select((s, i) => s with { Members = _members[i] }).ToList();

    /// <summary>Pairs of spaces that hold the same channels.</summary>
    public IReadOnlyList<(string A, string B)> Ties => _ties;

    /// <summary>Declares a space of <paramref name="width"/> channels and returns its name.</summary>
    public string Space(string name, SpaceKind kind, int width)
    {
        if (width < 1) throw new ArgumentOutOfRangeException(nameof(width), width, $"space '{name}' needs at least one channel");
        if (!_index.TryAdd(name, _spaces.Count)) throw new ArgumentException($"space '{name}' is declared twice", nameof(name));
        _spaces.Add(new ChannelSpace(name, kind, width, []));
        _members.Add([]);
        return name;
    }

    /// <summary>Adds a (layer, role) to a declared space; <paramref name="offset"/> and <paramref name="block"/> place the
    /// space's channels in the layer's dimension (<see cref="ChannelMember.Offset"/>, <see cref="ChannelMember.Block"/>).</summary>
    public void Member(string space, string layer, ChannelRole role, int offset = 0, int block = 1, int groups = 1)
    {
        if (offset < 0 || block < 1 || groups < 1) throw new ArgumentException($"member {layer} of '{space}': offset {offset}, block {block} or groups {groups} out of range");
        if (groups > 1 && (offset != 0 || block != 1 || role is not (ChannelRole.In or ChannelRole.Out)))
            throw new ArgumentException($"member {layer} of '{space}': a grouped conv's member spans the whole dimension, as its input or output");
        _members[IndexOf(space)].Add(new ChannelMember(layer, role) { Offset = offset, Block = block, Groups = groups });
    }

    /// <summary>Ties two declared spaces: their widths must agree, and they are pruned as one.</summary>
    public void Tie(string a, string b)
    {
        var (sa, sb) = (_spaces[IndexOf(a)], _spaces[IndexOf(b)]);
        if (sa.Width != sb.Width)
            throw new ArgumentException($"spaces '{a}' ({sa.Width} channels) and '{b}' ({sb.Width}) are tied but differ in width");
        _ties.Add((a, b));
    }

    public ChannelSpace this[string name] => Spaces[IndexOf(name)];

    /// <summary>
    /// The width of every declared space (name → width) once the spaces named in <paramref name="requested"/> take
    /// the given widths: a space tied to a named one, directly or through others, takes the same width; all others
    /// keep theirs. An undeclared name, a width below 1 or two different widths for tied spaces is an
    /// <see cref="ArgumentException"/>.
    /// </summary>
    public IReadOnlyDictionary<string, int> WidthsWith(IReadOnlyDictionary<string, int> requested)
    {
        var roots = TiedRoots();
        var groupWidths = new Dictionary<string, (int Width, string Space)>(StringComparer.Ordinal);
        foreach (var (space, width) in requested)
        {
            string group = roots[_spaces[IndexOf(space)].Name];
            if (width < 1) throw new ArgumentException($"space '{space}' needs at least one channel (got {width})", nameof(requested));
            if (groupWidths.TryGetValue(group, out var given) && given.Width != width)
                throw new ArgumentException(
                    $"spaces '{given.Space}' and '{space}' are tied but were given different widths ({given.Width} and {width})", nameof(requested));
            groupWidths[group] = (width, space);
        }
        return _spaces.Select(s => (s.Name, Width: groupWidths.TryGetValue(roots[s.Name], out var g) ? g.Width : s.Width))
            .ToDictionary(s => s.Name, s => s.Width, StringComparer.Ordinal);
    }

    /// <summary>For every space, the first declared space of its tied set (union–find over <see cref="Ties"/>): the
    /// one grouping of spaces, shared by <see cref="WidthsWith"/> and the pruner's dependency graph.</summary>
    public IReadOnlyDictionary<string, string> TiedRoots()
    {
        var root = Enumerable.Range(0, _spaces.Count).ToArray();
        int Find(int i)
        {
            while (root[i] != i) i = root[i] = root[root[i]];
            return i;
        }
        foreach (var (a, b) in _ties)
        {
            int ra = Find(IndexOf(a)), rb = Find(IndexOf(b));
            if (ra != rb) root[Math.Max(ra, rb)] = Math.Min(ra, rb);
        }
        return _spaces.Select((s, i) => (s.Name, Root: _spaces[Find(i)].Name)).ToDictionary(x => x.Name, x => x.Root, StringComparer.Ordinal);
    }

    private int IndexOf(string space) =>
        _index.TryGetValue(space, out int i) ? i : throw new ArgumentException($"space '{space}' is not declared", nameof(space));
}
