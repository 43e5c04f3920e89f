using Harness.Model.Networks;
using System.Globalization;

namespace Harness.Pruning.Channels;

/// <summary>The ratio a budget asks for, the value it achieves and the model's own value.</summary>
public sealed record BudgetResult(double Ratio, long Achieved, long Target, long Baseline);

/// <summary>
/// Pruning to a budget (<c>--target-macs</c>, <c>--target-params</c>): the smallest per-group ratio whose pruned widths
/// measure at most the target, found by bisection over the ratio under the monotone rule (<see
/// cref="ChannelPruningOptions.NeverUntouched"/>: every group narrows as the ratio grows, so the measure falls
/// monotonically; Torch-Pruning's rule would let a group spring back to full width). The result is therefore the
/// largest value at or under the target that a uniform ratio reaches: the next narrower step of some group's
/// <c>round_to</c> grid crosses below it.
/// </summary>
public static class BudgetSearch
{
    public const double Resolution = 1e-7;

    public static BudgetResult ForTarget(IPrunableNetwork model, ChannelPruningOptions options, long target,
        Func<IPrunableNetwork, long> measure, string what)
    {
        if (options.Global) throw new ArgumentException($"{what} searches the per-group ratio: drop --global");
        if (target < 1) throw new ArgumentException($"{what} must be a positive count (got {target})");
        var o = options with { NeverUntouched = true, Ratio = 0 };
        o.Validate();
        var graph = DependencyGraph.Build(model);
        var cache = new Dictionary<double, long>();
        long At(double ratio)
        {
            if (cache.TryGetValue(ratio, out long v)) return v;
            using var n = model.Rebuild(ChannelPruner.PlannedWidths(graph, o with { Ratio = ratio }));
            return cache[ratio] = measure(n);
        }
        long baseline = measure(model);
        // Ratio 0 still rounds every width down to round_to, so it may already meet the target.
        if (At(0) <= target) return new BudgetResult(0, At(0), target, baseline);
        double lo = 0, hi = 1 - Resolution;
        long smallest = At(hi);
        if (smallest > target)
            throw new ArgumentException($"{what} {target.ToString("N0", CultureInfo.InvariantCulture)} is unreachable: the smallest reachable is " +
                                        $"{smallest.ToString("N0", CultureInfo.InvariantCulture)} (every group at round_to {o.RoundTo} channels; the model has " +
                                        $"{baseline.ToString("N0", CultureInfo.InvariantCulture)})");
        while (hi - lo > Resolution)
        {
            double mid = (lo + hi) / 2;
            if (At(mid) <= target) hi = mid;
            else lo = mid;
        }
        return new BudgetResult(hi, At(hi), target, baseline);
    }

    /// <summary>A target as a fraction of <paramref name="baseline"/> (a number in (0, 1]) or an absolute count
    /// (an integer above 1, or a number with K, M or G: <c>200M</c>, <c>1.5G</c>).</summary>
    public static long ParseTarget(string text, long baseline, string option)
    {
        string t = text.Trim();
        double scale = 1;
        if (t.Length > 0 && char.ToUpperInvariant(t[^1]) is 'K' or 'M' or 'G')
        {
            scale = char.ToUpperInvariant(t[^1]) switch { 'K' => 1e3, 'M' => 1e6, _ => 1e9 };
            t = t[..^1];
        }
        if (!double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) || !double.IsFinite(v) || v <= 0)
            throw new ArgumentException($"{option} '{text}': expected a fraction of the model's value in (0, 1] or a count such as 200M");
        if (scale == 1 && v <= 1) return (long)Math.Floor(v * baseline);
        return (long)Math.Floor(v * scale);
    }
}
