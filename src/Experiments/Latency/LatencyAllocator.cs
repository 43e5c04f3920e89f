using Harness.Pruning.Channels;
using static TorchSharp.torch;

namespace Harness.Experiments.Latency;

/// <summary>
/// The widths that save a given time while removing the least importance (HALP's latency-constrained choice, solved
/// greedily): from full widths, the move — one group to any narrower width of its grid — with the least importance
/// removed per millisecond saved is taken, again and again, until the predicted saving reaches the need. A group's
/// cost at a width is the importance of the channels it loses there: its lowest scores, each group's scores divided
/// by their mean (Torch-Pruning's default group normalisation, so that groups of different layers compare).
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

    /// <summary><see cref="Costs"/> from <paramref name="options"/>' importance scored on <paramref name="model"/>.</summary>
    public static IReadOnlyDictionary<int, double[]> ImportanceCosts(Harness.Model.Networks.IPrunableNetwork model, DependencyGraph graph,
        ChannelPruningOptions options, IReadOnlyList<WidthChoices> choices)
    {
        var scores = ChannelPruner.GroupScores(model, graph, options);
        try
        {
            return Costs(graph, scores, choices);
        }
        finally
        {
            foreach (var s in scores.Values) s.Dispose();
        }
    }

    /// <summary>The importance an allocation removes (each group's cost at its width; mean-normalised channels).</summary>
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
            if (best is null) return null;
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
        return widths;
    }
}
