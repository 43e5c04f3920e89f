using Harness.Metrics;
using Harness.Model.Networks;
using Harness.Pruning.Channels;
using System.Globalization;

namespace Harness.Experiments.Latency;

/// <summary>A latency target: a fraction of the base network's latency (<c>0.5</c>) or milliseconds (<c>12ms</c>).</summary>
public sealed record LatencyTarget(double Value, bool IsMilliseconds)
{
    public static LatencyTarget Parse(string text, string option)
    {
        string t = text.Trim();
        bool ms = t.EndsWith("ms", StringComparison.OrdinalIgnoreCase);
        if (ms) t = t[..^2].Trim();
        if (!double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) || !double.IsFinite(v) || v <= 0 || (!ms && v > 1))
            throw new ArgumentException($"{option} '{text}': expected a fraction of the base network's latency in (0, 1] (0.5) or milliseconds (12ms)");
        return new LatencyTarget(v, ms);
    }

    public override string ToString() => IsMilliseconds
        ? string.Create(CultureInfo.InvariantCulture, $"{Value:0.###} ms")
        : string.Create(CultureInfo.InvariantCulture, $"{Value:0.###} of the base's latency");
}

/// <summary>One allocation the search measured: the latency it asked the model for, the model's prediction, and the
/// measured latency, all as fractions of the base network's (timed beside it), with the MACs it keeps.</summary>
public sealed record LatencyAttempt(double Budget, double Predicted, double Measured, long Macs);

/// <summary>The outcome of a latency-targeted search: the widths by group id, and what they were measured at.</summary>
public sealed record LatencyTargetResult
{
    public required IReadOnlyDictionary<int, int> Widths { get; init; }
    public required string Target { get; init; }
    /// <summary>The target as a fraction of the base network's latency.</summary>
    public required double TargetFraction { get; init; }
    public required double TargetMs { get; init; }
    public required double BaseMs { get; init; }
    /// <summary>The chosen network's median latency, timed beside the base (<see cref="BaseMs"/>).</summary>
    public required double MeasuredMs { get; init; }
    public required double MeasuredFraction { get; init; }
    public required double PredictedFraction { get; init; }
    /// <summary>Every group at its narrowest: the smallest reachable latency, as a fraction of the base's.</summary>
    public required double SmallestFraction { get; init; }
    public required long Macs { get; init; }
    /// <summary>The importance the widths remove: per group the scores of its removed channels divided by the group's
    /// mean score (Torch-Pruning's group normalisation) and weighted by the MACs a channel of the group carries,
    /// summed — the allocation's objective (with a sensitivity scan, its accuracy drops summed instead).</summary>
    public required double ImportanceRemoved { get; init; }
    /// <summary>The channel multiple the widths were kept to (1: none; <see cref="LatencyTable.Alignment"/>).</summary>
    public required int Alignment { get; init; }
    public required long BaseMacs { get; init; }
    /// <summary>How far above the target a re-measurement in another process may land (noise of the medians).</summary>
    public required double Tolerance { get; init; }
    /// <summary>The noise of one ratio in the latency model (<see cref="LatencyTable.Noise"/>: the base timed against
    /// itself in another session, RMS of ratio − 1); each fitted saving is lowered by it over √ of the samples pooled
    /// into it.</summary>
    public required double Noise { get; init; }
    public required string Setting { get; init; }
    public required string Machine { get; init; }
    public required bool TableFromCache { get; init; }
    public required string TableFile { get; init; }
    public required IReadOnlyList<LatencyAttempt> Attempts { get; init; }
    /// <summary>The latency model the widths were allocated on (with the alignment in effect).</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public LatencyTable? Table { get; init; }
}

/// <summary>
/// Pruning to a measured latency (<c>prune channel --target-latency</c>): the base network and its narrowest form timed
/// side by side (the target must lie above the narrowest, else one line naming the smallest reachable latency); the
/// latency table (<see cref="LatencyTable"/>, from the cache when it holds this key); then the allocation
/// (<see cref="LatencyAllocator"/>) for a budget, the allocated network built and timed beside the base, and the budget
/// corrected from the measurements (while all lie over the target, along the secant through the two with the lowest
/// budgets, the full network at (1, 1) among them; then by the secant between the nearest measurements on either side,
/// bisecting after a repeated network; a budget is kept within the chain of allocations the model can make) until a network measures at most the target (twice, the slower measurement counting) and within
/// <see cref="Band"/> of it, or
/// <see cref="MaxAttempts"/> have been measured; of the networks measured at or under the target, the one that removes
/// the least importance is kept.
/// </summary>
public static class LatencyTargetSearch
{
    /// <summary>A measured network within this fraction under the target is close enough.</summary>
    public const double Band = 0.04;

    public const int MaxAttempts = 12;

    /// <summary>The stated tolerance: a re-measurement in another process lands within this of the target.</summary>
    public const double Tolerance = 0.05;

    /// <summary>The widths that meet <c>target</c> on <c>probe</c>'s runtime for <c>model</c>; <c>costOf</c> gives each
    /// group's cost at each of its widths when it is not <c>options</c>' importance (<see cref="SensitivityCosts"/>: a
    /// scan's accuracy drops).</summary>
    public static LatencyTargetResult Search(IPrunableNetwork model, ChannelPruningOptions options, LatencyTarget target,
        ILatencyProbe probe, LatencyCache cache, TextWriter log, string option = "--target-latency",
        Func<IReadOnlyList<WidthChoices>, IReadOnlyDictionary<int, double[]>>? costOf = null)
    {
        if (options.Global) throw new ArgumentException($"{option} allocates widths per group: drop --global");
        options.Validate();
        var setting = probe.Setting;
        setting.Validate();
        model.Module.eval();
        var graph = DependencyGraph.Build(model);
        var choices = WidthChoices.Of(graph, options);
        long baseMacs = MacCounter.ThopMacs(model.Module, setting.ImageSize);
        int verifyRuns = 2 * setting.Runs;

        int block = 2 * options.RoundTo;
        var narrowest = choices.ToDictionary(c => c.Group, c => c.Narrowest);
        var channels = choices.ToDictionary(c => c.Group, c => c.Channels);
        // The narrowest networks: every group at its narrowest width, and at its narrowest multiple of 2·round_to (a
        // runtime with blocked kernels may run the aligned one faster); the smaller of the two is the floor.
        var narrowestAligned = choices.ToDictionary(c => c.Group, c => c.Widths.Where(w => w % block == 0).DefaultIfEmpty(c.Narrowest).Min());
        double baseMs, unaligned, smallestAligned;
        using (var small = model.Rebuild(WidthChoices.SpaceWidths(graph, narrowest)))
        using (var smallAligned = model.Rebuild(WidthChoices.SpaceWidths(graph, narrowestAligned)))
        {
            var m = probe.Medians([model, small, smallAligned, model], verifyRuns);
            baseMs = (m[0] + m[3]) / 2;
            (unaligned, smallestAligned) = (m[1] / baseMs, m[2] / baseMs);
        }
        var floorWidths = smallestAligned < unaligned ? narrowestAligned : narrowest;
        double smallest = Math.Min(unaligned, smallestAligned);
        double t = target.IsMilliseconds ? target.Value / baseMs : target.Value;
        log.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"latency ({setting.Describe()}): base {baseMs:F2} ms, every group at its narrowest {unaligned * baseMs:F2} ms ({unaligned:F3}), at its narrowest multiple of {block} {smallestAligned * baseMs:F2} ms ({smallestAligned:F3}); target {target} = {t * baseMs:F2} ms ({t:F3})"));
        if (smallest > t)
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"{option} {target} ({t * baseMs:F2} ms) is unreachable: the smallest reachable latency is {smallest * baseMs:F2} ms ({smallest:F3} of the base's {baseMs:F2} ms; every group at its narrowest{(smallestAligned < unaligned ? $" multiple of {block}" : $", round_to {options.RoundTo}")}) on {setting.Describe()}"));

        string key = LatencyCache.KeyOf(LatencyCache.KeyText(model, choices, setting, probe.Machine));
        var table = cache.Load(key);
        bool fromCache = table is not null;
        if (table is null)
        {
            log.WriteLine($"measuring the latency model ({choices.Count(c => c.Widths.Count > 1)} groups that can narrow; {setting.Runs} timed passes each, interleaved with the base)");
            table = LatencyTable.Measure(model, graph, choices, probe, key, log, options.RoundTo);
            cache.Save(table);
        }
        else log.WriteLine($"latency model from the cache: {cache.PathOf(key)} (measured {table.MeasuredUtc:u})");

        // Widths are kept to multiples of 2·round_to when the runtime runs unaligned widths slower: the groups' probes
        // add up to it, or every group at its narrowest aligned width ran faster than at its narrowest of all.
        bool aligned = LatencyTable.AlignmentOf(table.AlignmentProbes, block) > 1 || smallestAligned < unaligned;
        table = table.WithAlignment(aligned ? block : 1);
        if (aligned)
            log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  widths kept to multiples of {block}: {(smallestAligned < unaligned ? $"every group at its narrowest multiple of {block} ran {smallestAligned:F3} of the base, at its narrowest {unaligned:F3}" : "the groups' alignment probes")}"));
        var allowed = table.Aligned(choices);
        var allCosts = costOf?.Invoke(choices) ?? LatencyAllocator.ImportanceCosts(model, graph, options, choices, setting.ImageSize);
        // The allowed widths are a subset of each group's grid: their costs are read from the full grid's.
        var costs = allowed.ToDictionary(c => c.Group, c =>
        {
            var grid = choices.Single(g => g.Group == c.Group).Widths.ToList();
            return c.Widths.Select(w => allCosts[c.Group][grid.IndexOf(w)]).ToArray();
        });

        var attempts = new List<(LatencyAttempt Attempt, Dictionary<int, int> Widths)>();
        var measured = new Dictionary<string, (double Fraction, long Macs)>();
        attempts.Add((new LatencyAttempt(0, Predict(table, choices, narrowest), unaligned, LatencyAllocator.MacsAt(model, graph, narrowest, setting.ImageSize)), narrowest));
        attempts.Add((new LatencyAttempt(0, Predict(table, choices, narrowestAligned), smallestAligned, LatencyAllocator.MacsAt(model, graph, narrowestAligned, setting.ImageSize)), narrowestAligned));
        // The budgets the chain of allocations spans: from the full network (1) to where the greedy runs out of moves
        // that the model credits with a saving (which may lie below 0 where the model over-credits savings: its
        // single-group savings do not add up on the real network).
        double lowest = 1 - LatencyAllocator.MostSaving(allowed, costs, (w, g, from, to) => table.Gain(w, channels, g, from, to)) / table.BaseMs;
        double budget = Math.Max(t, lowest + 1e-9), aim = t * (1 - Band / 2);
        // The full network is the chain's first point: at budget 1 it measures 1, over any target.
        (double Budget, double Measured)? under = null;
        var overs = new List<(double Budget, double Measured)> { (1, 1) };
        int repeats = 0;
        for (int i = 0; i < MaxAttempts; i++)
        {
            var widths = LatencyAllocator.Allocate(allowed, costs, (w, g, from, to) => table.Gain(w, channels, g, from, to), (1 - budget) * table.BaseMs) ?? floorWidths;
            string id = string.Join(",", widths.OrderBy(p => p.Key).Select(p => p.Value));
            bool repeat = measured.ContainsKey(id);
            repeats = repeat ? repeats + 1 : 0;
            // The same network three times in a row (bisecting after each repeat): the budgets left between the
            // bracket's ends give no other allocation.
            if (repeats >= 3) break;
            if (!measured.TryGetValue(id, out var known))
            {
                using var candidate = model.Rebuild(WidthChoices.SpaceWidths(graph, widths));
                double first = Ratio(probe, model, candidate, verifyRuns);
                // A network that measures under the target is timed once more and kept at the slower of the two: of
                // many candidates near the target, the one a noisy measurement favoured would otherwise be kept.
                if (first <= t) first = Math.Max(first, Ratio(probe, model, candidate, verifyRuns));
                measured[id] = known = (first, MacCounter.ThopMacs(candidate.Module, setting.ImageSize));
            }
            double a = known.Fraction;
            double predicted = Predict(table, choices, widths);
            attempts.Add((new LatencyAttempt(budget, predicted, a, known.Macs), widths));
            log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  allocation {i + 1}: budget {budget:F3}, predicted {predicted:F3}, measured {a:F3} of the base ({a * baseMs:F2} ms), MACs {attempts[^1].Attempt.Macs / (double)baseMacs:F3}"));
            if (a <= t)
            {
                if (a >= t * (1 - Band)) break;
                if (under is null || budget > under.Value.Budget) under = (budget, a);
            }
            else overs.Add((budget, a));
            double next;
            if (under is { } u)
            {
                var o = overs.MinBy(p => p.Budget);
                next = o.Measured == u.Measured ? (u.Budget + o.Budget) / 2
                    : u.Budget + (aim - u.Measured) * (o.Budget - u.Budget) / (o.Measured - u.Measured);
                double lo = u.Budget, hi = o.Budget;
                // A repeated network means the secant's step fell inside one allocation: bisect instead.
                if (repeat || !(next > lo + 1e-4 * (hi - lo) && next < hi - 1e-4 * (hi - lo))) next = (lo + hi) / 2;
            }
            else
            {
                // Nothing measured under the target yet: extrapolate along the secant of the two measurements over it
                // with the lowest budgets (the full network at (1, 1) among them), so that a model whose savings are
                // off by a factor is corrected by that factor, not by the miss alone.
                var sorted = overs.OrderBy(p => p.Budget).ToList();
                var (b1, a1) = sorted[0];
                var (b2, a2) = sorted.FirstOrDefault(p => p.Budget > b1, (1, 1));
                next = a2 > a1 && b2 > b1 ? b1 + (aim - a1) * (b2 - b1) / (a2 - a1) : 1 + (aim - 1) * (1 - b1) / Math.Max(1e-6, 1 - a1);
            }
            next = Math.Clamp(next, lowest + 1e-9, 1);
            if (Math.Abs(next - budget) < 1e-7) break;
            budget = next;
        }
        // Of the networks measured at or under the target, the one that removes the least importance (the objective;
        // the every-group-narrowest network measured first is always among them).
        var best = attempts.Where(x => x.Attempt.Measured <= t).MinBy(x => LatencyAllocator.Removed(choices, allCosts, x.Widths));
        var (chosen, chosenWidths) = best;
        if (chosen.Measured < t * (1 - Band))
            log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  no allocation measured within {Band:P0} under the target in {attempts.Count - 2} tries; kept the one at or under it that removes the least importance ({chosen.Measured:F3})"));
        return new LatencyTargetResult
        {
            Widths = chosenWidths,
            Target = target.ToString(),
            TargetFraction = t,
            TargetMs = t * baseMs,
            BaseMs = baseMs,
            MeasuredMs = chosen.Measured * baseMs,
            MeasuredFraction = chosen.Measured,
            PredictedFraction = chosen.Predicted,
            SmallestFraction = smallest,
            Macs = chosen.Macs,
            ImportanceRemoved = LatencyAllocator.Removed(choices, allCosts, chosenWidths),
            Alignment = table.Alignment,
            Table = table,
            BaseMacs = baseMacs,
            Tolerance = Tolerance,
            Noise = table.Noise,
            Setting = setting.Describe(),
            Machine = probe.Machine,
            TableFromCache = fromCache,
            TableFile = cache.PathOf(key),
            Attempts = attempts.Select(x => x.Attempt).ToList(),
        };
    }

    /// <summary>The candidate's median over the base's, the base timed in two sessions around it (their mean: a
    /// session's persistent offset halved).</summary>
    private static double Ratio(ILatencyProbe probe, IPrunableNetwork model, IPrunableNetwork candidate, int runs)
    {
        var m = probe.Medians([model, candidate, model], runs);
        return m[1] / ((m[0] + m[2]) / 2);
    }

    private static double Predict(LatencyTable table, IReadOnlyList<WidthChoices> choices, IReadOnlyDictionary<int, int> widths) =>
        table.Predict(choices, widths) / table.BaseMs;
}
