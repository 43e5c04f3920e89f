using Harness.Model.Channels;
using Harness.Model.Networks;

namespace Harness.Model.Families;

/// <summary>
/// Every width of an imported network: its <see cref="GraphSpec"/>, whose parametrised nodes state their shapes.
/// Checked before anything is allocated: unknown operators, values read before they are produced (a cycle, a
/// dangling input), names produced twice, module names that collide, and sizes out of range are refused by name.
/// </summary>
public sealed class GraphWidths(GraphSpec spec) : INetworkWidths
{
    private readonly bool _headless;

    /// <summary>Widths of a graph that need not end in a classifier yet (the import's sizing pass).</summary>
    internal GraphWidths(GraphSpec spec, bool headless) : this(spec) => _headless = headless;

    /// <summary>Most nodes a graph may have.</summary>
    public const int MaxNodes = 100_000;

    /// <summary>Most weights (elements of every conv and linear weight together) a graph may declare.</summary>
    public const long MaxWeights = 1L << 31;

    public GraphSpec Spec { get; } = spec;

    public string Architecture => GraphNetwork.FamilyName;

    public int NumClasses => (int)Head.Shape![0];

    public IReadOnlyList<IReadOnlyList<string>> Stages => Spec.Stages;

    private GraphNode Head => Spec.Nodes.Last(n => n.Outputs.Contains(Spec.Output));

    public void Validate()
    {
        if (Spec.Nodes is null || Spec.Nodes.Count == 0 || Spec.Nodes.Count > MaxNodes)
            throw new ArgumentException($"graph: {Spec.Nodes?.Count ?? 0} nodes (1–{MaxNodes} expected)");
        if (Spec.InputShape is not { Length: 3 } || Spec.InputShape.Any(d => d is < 1 or > 8192))
            throw new ArgumentException($"graph: the input shape must be channels, height, width in 1–8192 (got [{string.Join(", ", Spec.InputShape ?? [])}])");
        var defined = new HashSet<string>(StringComparer.Ordinal) { Spec.Input };
        foreach (var (name, c) in Spec.Constants)
        {
            if (c.Shape.Any(d => d is < 0 or > 1 << 20) || c.Count != (c.Floats?.Length ?? c.Ints?.Length ?? -1) || (c.Floats is null) == (c.Ints is null))
                throw new ArgumentException($"graph: constant '{name}' has shape [{string.Join(", ", c.Shape)}] but not as many values");
            if (!defined.Add(name)) throw new ArgumentException($"graph: the name '{name}' is defined twice");
        }
        long bufferElements = 0;
        foreach (var (name, shape) in Spec.Buffers)
        {
            if (shape.Length is < 1 or > 6 || shape.Any(d => d is < 1 or > 1 << 20))
                throw new ArgumentException($"graph: constant buffer '{name}' has shape [{string.Join(", ", shape)}]");
            bufferElements += shape.Aggregate(1L, (a, b) => Math.Min(a * b, MaxWeights + 1));
            if (!defined.Add(name)) throw new ArgumentException($"graph: the name '{name}' is defined twice");
        }
        var modules = new HashSet<string>(StringComparer.Ordinal);
        long weights = bufferElements;
        foreach (var node in Spec.Nodes)
        {
            GraphOps.Check(node);
            foreach (var i in node.Inputs)
                if (!defined.Contains(i))
                    throw new ArgumentException($"graph: node '{node.Name}' ({node.Op}) reads '{i}', which no earlier node, input or constant defines");
            foreach (var o in node.Outputs)
                if (!defined.Add(o)) throw new ArgumentException($"graph: the value '{o}' is defined twice (node '{node.Name}')");
            if (node.Module is not null)
            {
                if (node.Module.Split('.').Any(p => p.Length == 0 || p.Length > 200 || !p.All(c => char.IsAsciiLetterOrDigit(c) || c == '_' || c == '-')))
                    throw new ArgumentException($"graph: node '{node.Name}': module name '{node.Module}' is not a dotted name of letters, digits, '_' and '-'");
                if (node.Module == "constants" || node.Module.StartsWith("constants.", StringComparison.Ordinal) || !modules.Add(node.Module))
                    throw new ArgumentException($"graph: the module name '{node.Module}' is used twice");
                weights += node.Shape!.Aggregate(1L, (a, b) => Math.Min(a * b, MaxWeights + 1));
                if (weights > MaxWeights) throw new ArgumentException($"graph: more than {MaxWeights} weights");
            }
        }
        foreach (var m in modules)
            for (int dot = m.IndexOf('.'); dot > 0; dot = m.IndexOf('.', dot + 1))
                if (modules.Contains(m[..dot])) throw new ArgumentException($"graph: module '{m[..dot]}' is both a layer and a container of '{m}'");
        if (!defined.Contains(Spec.Output)) throw new ArgumentException($"graph: the output '{Spec.Output}' is never produced");
        if (_headless) return;
        if (Head.Op != "Linear") throw new ArgumentException($"graph: the output '{Spec.Output}' is produced by {Head.Op}, not by a Linear classifier");
        foreach (var stage in Spec.Stages)
            foreach (var m in stage)
                if (!modules.Contains(m)) throw new ArgumentException($"graph: stage member '{m}' is no module of the graph");
    }

    public IReadOnlyDictionary<string, long[]> WeightShapes() =>
        Spec.Nodes.Where(n => n.Op is "Conv" or "Linear").ToDictionary(n => $"{n.Module}.weight", n => n.Shape!, StringComparer.Ordinal);

    private GraphChannels? _channels;

    /// <summary>The channel spaces derived from the graph, with the per-node spaces and what is left untouched.</summary>
    public GraphChannels Channels => _channels ??= new GraphChannels(Spec);

    public ChannelDeclaration DeclareChannels() => Channels.Declaration;

    public INetworkWidths WithSpaceWidths(IReadOnlyDictionary<string, int> spaceWidths)
    {
        if (spaceWidths.Count == 0) return this;
        var channels = Channels;
        var widths = channels.Declaration.WidthsWith(spaceWidths);
        int Width(GraphChannels.Segment s) => s.Space is not null && widths.TryGetValue(s.Space, out int w) ? w : s.Width;
        var nodes = new List<GraphNode>(Spec.Nodes.Count);
        for (int i = 0; i < Spec.Nodes.Count; i++)
        {
            var n = Spec.Nodes[i];
            var (input, output) = channels.NodeLayouts[i];
            var shape = n.Shape;
            long? inWidth = input?.Sum(s => (long)Width(s));
            long? outWidth = output is [var o] ? Width(o) : null;
            switch (n.Op)
            {
                case "Conv":
                    {
                        long groups = n.Int("group", 1), cin = shape![1] * groups;
                        if (groups > 1 && groups == cin && cin == shape[0])
                        {
                            if (inWidth is long c && c != cin)
                                n = n with
                                {
                                    Shape = [c, 1, shape[2], shape[3]],
                                    Ints = new Dictionary<string, long[]>(n.Ints!) { ["group"] = [c] },
                                };
                        }
                        else
                        {
                            long newIn = inWidth ?? cin, newOut = outWidth ?? shape[0];
                            if (newIn % groups != 0 || newOut % groups != 0)
                                throw new ArgumentException($"{n.Name}: {newIn} input and {newOut} output channels do not divide into its {groups} groups");
                            n = n with { Shape = [newOut, newIn / groups, shape[2], shape[3]] };
                        }
                        break;
                    }
                case "BatchNorm":
                    n = n with { Shape = [inWidth ?? shape![0]] };
                    break;
                case "Linear":
                    {
                        long total = input?.Sum(s => (long)s.Width) ?? 0;
                        long block = total > 0 && shape![1] % total == 0 ? shape[1] / total : 0;
                        bool classifier = output is [{ Space: null }];
                        n = n with { Shape = [classifier ? shape![0] : outWidth ?? shape![0], block > 0 ? inWidth!.Value * block : shape![1]] };
                        break;
                    }
            }
            nodes.Add(n);
        }
        var rebuilt = new GraphWidths(Spec with { Nodes = nodes });
        rebuilt.Validate();
        return rebuilt;
    }

    public INetworkWidths WithClasses(int numClasses)
    {
        var head = Head;
        var nodes = Spec.Nodes.Select(n => ReferenceEquals(n, head) ? n with { Shape = [numClasses, n.Shape![1]] } : n).ToList();
        return new GraphWidths(Spec with { Nodes = nodes });
    }

    public IPrunableNetwork Build() => new GraphNetwork(this);
}
