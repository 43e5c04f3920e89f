using Harness.Model.Channels;
using Harness.Pruning.Channels;

namespace Harness.Experiments.Latency;

/// <summary>The widths a group may be given, widest first (the first is its full width): those per-group pruning
/// reaches at some ratio under <paramref name="Widths"/>' rules (round_to, the largest ratio, never left untouched,
/// a grouped conv's equal groups, a group pinned by an ignored layer keeping all its channels).</summary>
public sealed record WidthChoices(int Group, string Kind, string Space, int Channels, IReadOnlyList<int> Widths)
{
    /// <summary>Ratios tried per group: widths of up to this many channels are all reached.</summary>
    private const int RatioSteps = 4096;

    public int Narrowest => Widths[^1];

    public static IReadOnlyList<WidthChoices> Of(DependencyGraph graph, ChannelPruningOptions options)
    {
        var o = options with { NeverUntouched = true, Ratio = 0, Global = false };
        o.Validate();
        return graph.Groups.Select(g =>
        {
            var widths = new SortedSet<int>(Comparer<int>.Create((a, b) => b.CompareTo(a))) { g.Channels };
            for (int k = 0; k < RatioSteps; k++)
            {
                int w = ChannelPruner.LocalKeptWidth(g, o with { GroupRatios = new Dictionary<int, double> { [g.Id] = k / (double)RatioSteps } });
                if (w >= 1 && w <= g.Channels) widths.Add(w);
            }
            return new WidthChoices(g.Id, g.Kind.Label(), g.Space, g.Channels, widths.ToList());
        }).ToList();
    }

    /// <summary>The widths of every group's space for <see cref="Harness.Model.Networks.IPrunableNetwork.Rebuild"/>:
    /// each group at <paramref name="widths"/>' width, or full.</summary>
    public static IReadOnlyDictionary<string, int> SpaceWidths(DependencyGraph graph, IReadOnlyDictionary<int, int> widths) =>
        graph.SpaceWidths(graph.Groups.ToDictionary(g => g.Space, g => widths.TryGetValue(g.Id, out int w) ? w : g.Channels, StringComparer.Ordinal));
}
