using Harness.Metrics;
using Harness.Model.Networks;
using Harness.Pruning.Channels;
using System.Globalization;

namespace Harness.Experiments.Latency;

/// <summary>Uniform-ratio pruning (every group the same ratio, never untouched) timed to the same latency target: the
/// smallest ratio whose network measures at or under it, for comparison with the latency-targeted allocation
/// (<see cref="Reached"/> false: not even ratio 0.99 meets it; the figures are then that ratio's).</summary>
public sealed record UniformComparison(double Ratio, double MeasuredFraction, double MeasuredMs, long Macs, long Parameters, double ImportanceRemoved,
    bool Reached)
{
    /// <summary>Bisection over the ratio (<paramref name="steps"/> measurements, each network timed beside the base):
    /// the narrowest bracket's feasible end.</summary>
    public static UniformComparison At(IPrunableNetwork model, ChannelPruningOptions options, double targetFraction,
        ILatencyProbe probe, TextWriter log, int steps = 7, Func<IReadOnlyList<WidthChoices>, IReadOnlyDictionary<int, double[]>>? costOf = null)
    {
        var graph = DependencyGraph.Build(model);
        var o = options with { NeverUntouched = true, Global = false, GroupRatios = new Dictionary<int, double>() };
        double lo = 0, hi = 0.99;
        (double Ratio, double Fraction, double Ms, long Macs, long Parameters)? feasible = null;
        (double, double, double, long, long) Measure(double r)
        {
            using var n = model.Rebuild(ChannelPruner.PlannedWidths(graph, o with { Ratio = r }));
            var m = probe.Medians([model, n], 2 * probe.Setting.Runs);
            var result = (r, m[1] / m[0], m[1], MacCounter.ThopMacs(n.Module, probe.Setting.ImageSize), n.Module.parameters().Sum(p => p.numel()));
            log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  uniform ratio {r:F4}: measured {result.Item2:F3} of the base"));
            return result;
        }
        var top = Measure(hi);
        if (top.Item2 <= targetFraction) feasible = top;
        for (int i = 0; i < steps; i++)
        {
            double mid = (lo + hi) / 2;
            var m = Measure(mid);
            if (m.Item2 <= targetFraction)
            {
                feasible = m;
                hi = mid;
            }
            else lo = mid;
        }
        var f = feasible ?? top;
        bool reached = feasible is not null;
        var choices = WidthChoices.Of(graph, o);
        var widths = graph.Groups.ToDictionary(g => g.Id, g => ChannelPruner.LocalKeptWidth(g, o with { Ratio = f.Ratio }));
        var costs = costOf?.Invoke(choices) ?? LatencyAllocator.ImportanceCosts(model, graph, o, choices, probe.Setting.ImageSize);
        return new UniformComparison(f.Ratio, f.Fraction, f.Ms, f.Macs, f.Parameters, LatencyAllocator.Removed(choices, costs, widths), reached);
    }
}
