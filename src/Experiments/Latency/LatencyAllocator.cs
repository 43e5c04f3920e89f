using Harness.Metrics;
using Harness.Model.Networks;
using Harness.Pruning.Channels;
using static TorchSharp.torch;

namespace Harness.Experiments.Latency;

/// <summary>
/// The widths that save a given time while removing the least importance (HALP's latency-constrained choice, solved
/// greedily): from full widths, the move — one group to any narrower width of its grid — with the least importance
/// removed per millisecond saved is taken, again and again, until the predicted saving reaches the need. A group's
/// cost at a width is the importance of the channels it loses there: its lowest scores, each group's scores divided
/// by their mean (Torch-Pruning's default group normalisation, so that groups of different layers compare), and — the
/// default cost, <see cref="ImportanceCosts"/> — weighted by the MACs one channel of the group carries against the
/// groups' mean. Without the weight every channel costs about 1 wherever it is, and the greedy narrows what saves the
/// most time per channel: residual trunks (a channel runs through ten layers) and the stem, the layers a network
/// can least lose (ResNet-18 fine-tuned on CIFAR-10 at 96 px, target 0.3 of its ONNX Runtime latency: 20.7% after one
/// epoch of fine-tuning, uniform pruning 38.9%, the MAC-weighted cost 43.0%).
/// </summary>
public static class LatencyAllocator
{
    /// <summary>Each group's cost at each of its widths (<see cref="WidthChoices.Widths"/>' order), from the scores
    /// (<see cref="ChannelPruner.GroupScores"/>).</summary>
    public static IReadOnlyDictionary<int, double[]> Costs(DependencyGraph graph, IReadOnlyDictionary<int, Tensor> scores,
        IReadOnlyList<WidthChoices> choices)
    {
        var result = new Dictionary<int, double[]>();
        foreach (var c in choices)
        {
            var s = scores[c.Group].data<double>().ToArray();
            double mean = s.Length == 0 ? 1 : s.Average();
            if (!(mean > 0) || !double.IsFinite(mean)) mean = 1;
            var sorted = s.Select(v => double.IsFinite(v) ? v / mean : 0).Order().ToArray();
            var prefix = new double[sorted.Length + 1];
            for (int i = 0; i < sorted.Length; i++) prefix[i + 1] = prefix[i] + sorted[i];
            result[c.Group] = c.Widths.Select(w => prefix[Math.Clamp(c.Channels - w, 0, sorted.Length)]).ToArray();
        }
        return result;
    }

    /// <summary><see cref="Costs"/> from <paramref name="options"/>' importance scored on <paramref name="model"/>, each
    /// group's weighted by the MACs a channel of it carries at <paramref name="imageSize"/>
    /// (<see cref="MacsPerChannel"/>) over the mean of the groups that can narrow.</summary>
    public static IReadOnlyDictionary<int, double[]> ImportanceCosts(IPrunableNetwork model, DependencyGraph graph,
        ChannelPruningOptions options, IReadOnlyList<WidthChoices> choices, int imageSize)
    {
        var scores = ChannelPruner.GroupScores(model, graph, options);
        IReadOnlyDictionary<int, double[]> costs;
        try
        {
            costs = Costs(graph, scores, choices);
        }
        finally
        {
            foreach (var s in scores.Values) s.Dispose();
        }
        var perChannel = MacsPerChannel(model, graph, choices, imageSize);
        var narrowing = perChannel.Values.Where(m => m > 0).ToList();
        double mean = narrowing.Count == 0 ? 1 : narrowing.Average();
        return costs.ToDictionary(p => p.Key, p => p.Value.Select(v => v * perChannel[p.Key] / mean).ToArray());
    }

    /// <summary>The MACs (thop's rules at <paramref name="imageSize"/>) one channel of each group carries: what the
    /// network loses with that group alone at its narrowest width, per channel removed; 0 for a group that cannot
    /// narrow.</summary>
    public static IReadOnlyDictionary<int, double> MacsPerChannel(IPrunableNetwork model, DependencyGraph graph,
        IReadOnlyList<WidthChoices> choices, int imageSize)
    {
        long full = MacCounter.ThopMacs(model.Module, imageSize);
        var result = new Dictionary<int, double>();
        foreach (var c in choices)
        {
            if (c.Channels <= c.Narrowest)
            {
                result[c.Group] = 0;
                continue;
            }
            var widths = choices.ToDictionary(x => x.Group, x => x.Channels);
            widths[c.Group] = c.Narrowest;
            result[c.Group] = Math.Max(0, full - MacsAt(model, graph, widths, imageSize)) / (double)(c.Channels - c.Narrowest);
        }
        return result;
    }

    /// <summary>The MACs (thop's rules at <paramref name="imageSize"/>) of <paramref name="model"/> with its groups at
    /// <paramref name="widths"/>.</summary>
    internal static long MacsAt(IPrunableNetwork model, DependencyGraph graph, IReadOnlyDictionary<int, int> widths, int imageSize)
    {
        using var n = model.Rebuild(WidthChoices.SpaceWidths(graph, widths));
        return MacCounter.ThopMacs(n.Module, imageSize);
    }

    /// <summary>The importance an allocation removes (each group's cost at its width).</summary>
    public static double Removed(IReadOnlyList<WidthChoices> choices, IReadOnlyDictionary<int, double[]> costs, IReadOnlyDictionary<int, int> widths) =>
        choices.Sum(c =>
        {
            int at = widths.TryGetValue(c.Group, out int w) ? c.Widths.ToList().IndexOf(w) : 0;
            if (at < 0) throw new ArgumentException($"group {c.Group}: width {w} is not on its grid");
            return costs[c.Group][at];
        });

    /// <summary>The widths by group id (every group named) whose predicted savings reach <paramref name="needMs"/>, or
    /// null when no move saves time any more before that. <c>gain</c> gives the time a move saves (the widths so far,
    /// the group, its width before and after; <see cref="LatencyTable.Gain"/>), <c>costs</c> each group's cost at each
    /// of its widths. The last move stops at the widest width that meets the need, so the allocation does not
    /// overshoot by a whole jump.</summary>
    public static Dictionary<int, int>? Allocate(IReadOnlyList<WidthChoices> choices, IReadOnlyDictionary<int, double[]> costs,
        Func<IReadOnlyDictionary<int, int>, int, int, int, double> gain, double needMs)
    {
        var (widths, saved) = Greedy(choices, costs, gain, needMs);
        return saved >= needMs ? widths : null;
    }

    /// <summary>The most the allocation can save (ms, predicted): the greedy's moves taken until none saves time any
    /// more — the far end of the chain of allocations that <see cref="Allocate"/> walks along as the need grows.</summary>
    public static double MostSaving(IReadOnlyList<WidthChoices> choices, IReadOnlyDictionary<int, double[]> costs,
        Func<IReadOnlyDictionary<int, int>, int, int, int, double> gain) =>
        Greedy(choices, costs, gain, double.PositiveInfinity).Saved;

    private static (Dictionary<int, int> Widths, double Saved) Greedy(IReadOnlyList<WidthChoices> choices, IReadOnlyDictionary<int, double[]> costs,
        Func<IReadOnlyDictionary<int, int>, int, int, int, double> gain, double needMs)
    {
        var at = choices.ToDictionary(c => c.Group, _ => 0);
        var widths = choices.ToDictionary(c => c.Group, c => c.Channels);
        double total = 0;
        while (total < needMs)
        {
            WidthChoices? best = null;
            int bestJ = -1;
            double bestRate = double.PositiveInfinity, bestGain = 0;
            foreach (var c in choices)
            {
                int i = at[c.Group];
                var cost = costs[c.Group];
                for (int j = i + 1; j < c.Widths.Count; j++)
                {
                    double g = gain(widths, c.Group, c.Widths[i], c.Widths[j]);
                    if (g <= 1e-9) continue;
                    double rate = Math.Max(0, cost[j] - cost[i]) / g;
                    if (rate < bestRate || (rate == bestRate && g > bestGain))
                        (best, bestJ, bestRate, bestGain) = (c, j, rate, g);
                }
            }
            if (best is null) break;
            if (total + bestGain > needMs)
            {
                int i = at[best.Group];
                for (int j = i + 1; j < bestJ; j++)
                {
                    double g = gain(widths, best.Group, best.Widths[i], best.Widths[j]);
                    if (total + g >= needMs)
                    {
                        (bestJ, bestGain) = (j, g);
                        break;
                    }
                }
            }
            at[best.Group] = bestJ;
            widths[best.Group] = best.Widths[bestJ];
            total += bestGain;
        }
        return (widths, total);
    }
}
