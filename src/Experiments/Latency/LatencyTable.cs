using Harness.Metrics;
using Harness.Model.Channels;
using Harness.Model.Networks;
using Harness.Pruning.Channels;
using System.Globalization;
using System.Text;

namespace Harness.Experiments.Latency;

/// <summary>One measured point of the latency model: the whole network's latency with one group at
/// <see cref="Width"/> channels and every other group full, and its ratio to the full network timed beside it.</summary>
public sealed record LatencySample(int Group, string Kind, string Space, int Channels, int Width, double Ms, double RatioToBase);

/// <summary>The MACs of the layers that read one group's channels and write another's (a conv between them): when
/// both narrow, their time shrinks with the product of the two widths.</summary>
public sealed record LatencyPair(int In, int Out, long Macs);

/// <summary>One group timed at an aligned width and <c>round_to</c> channels under it (ratios to the base): a positive
/// <see cref="Penalty"/> means fewer channels ran slower.</summary>
public sealed record AlignmentProbe(int Group, int Aligned, double AlignedRatio, int Unaligned, double UnalignedRatio)
{
    public double Penalty => UnalignedRatio - AlignedRatio;
}

/// <summary>
/// The latency model of a network in one setting (NetAdapt's per-proposal measurements, tabled per group): for each
/// group, the whole network timed with that group narrowed to a few widths of its grid (¾, ½, ¼ of its channels and its
/// narrowest width) and every other group full, side by side with the full network. A group's saving at any width is
/// read from its samples by linear interpolation over the width, fitted monotone (a narrower group never costs more
/// time; isotonic least squares) and lowered by the noise of a ratio, which the table measures with the full network
/// timed against itself in every group's measurement (<see cref="Noise"/>; a fitted value is lowered by its own noise,
/// the ratio's over √ of the samples pooled into it), with a small MAC-proportional floor (<see cref="PriorShare"/>) so
/// that groups inside the noise still narrow, last. Whole-network measurements (not per-layer ones) keep what the runtime does around the layers — fusion,
/// layout reorders, the activations a narrower group no longer streams — in the figures.
/// Savings do not add up when two groups narrow together: a conv reading group A and writing group B runs in time
/// ∝ a·b (its kept fractions), and each group's own measurement already counted its share of that conv. The model
/// therefore predicts L = base − Σ_g saving_g + Σ_(A,B) T_AB·(1 − a)(1 − b), where T_AB is the time of the convs
/// between A and B — their MACs times the average time per MAC that A's and B's measurements show
/// (<see cref="TimePerMac"/>). With one group narrowed and no noise it gives that group's measurement exactly; the target search
/// measures every allocation it keeps and corrects what the model still misses.
/// Groups whose narrowest width removes less than <see cref="MinimumMacsShare"/> of the network's MACs are not
/// measured (their saving would be under the timing noise) and count as saving nothing.
/// </summary>
public sealed record LatencyTable
{
    public const double MinimumMacsShare = 0.003;

    public required string Key { get; init; }
    public required string Network { get; init; }
    public required LatencySetting Setting { get; init; }
    public required string Machine { get; init; }
    public required double BaseMs { get; init; }
    public required IReadOnlyList<LatencySample> Samples { get; init; }
    /// <summary>Groups left out of the measurements, with the reason.</summary>
    public required IReadOnlyDictionary<int, string> NotMeasured { get; init; }
    /// <summary>The MACs of the layers each group's channels pass through (as outputs, inputs or depthwise).</summary>
    public required IReadOnlyDictionary<int, long> GroupMacs { get; init; }
    /// <summary>The MACs between pairs of groups (<see cref="LatencyPair"/>).</summary>
    public required IReadOnlyList<LatencyPair> Pairs { get; init; }
    /// <summary>The channel multiple the widths are kept to (1: none; <see cref="WithAlignment"/>).</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public int Alignment { get; init; } = 1;
    /// <summary>The measurements the alignment was decided on.</summary>
    public IReadOnlyList<AlignmentProbe> AlignmentProbes { get; init; } = [];
    public required DateTime MeasuredUtc { get; init; }

    /// <summary>The time saved (ms, ≥ 0) with group <paramref name="group"/> at <paramref name="width"/> of its
    /// <paramref name="channels"/>.</summary>
    public double Saved(int group, int channels, int width)
    {
        var points = Curve(group, channels);
        if (points.Count < 2 || width >= channels) return 0;
        for (int i = 1; i < points.Count; i++)
        {
            var (w0, s0) = points[i - 1];
            var (w1, s1) = points[i];
            if (width >= w1) return w0 == w1 ? s1 : s0 + (s1 - s0) * (w0 - width) / (double)(w0 - w1);
        }
        return points[^1].Saved;
    }

    /// <summary>The group's (width, saving) points, widest first from (channels, 0): the measured savings fitted
    /// monotone (a narrower group never saves less) by least squares — isotonic regression, pooling adjacent samples
    /// that disagree, not the running maximum, which would keep every sample noise pushed up and credit each group with
    /// the luckiest of its measurements — and then lowered by the noise of that fitted value (the table's
    /// <see cref="Noise"/> over √ of the samples pooled into it), but never under a small MAC-proportional prior
    /// (<see cref="PriorShare"/>); built once per group and width (the allocation reads them for every move it
    /// weighs).</summary>
    private List<(int Width, double Saved)> Curve(int group, int channels)
    {
        var curves = _curves ??= [];
        if (!curves.TryGetValue((group, channels), out var curve)) curves[(group, channels)] = curve = BuildCurve(group, channels);
        return curve;
    }

    private Dictionary<(int, int), List<(int Width, double Saved)>>? _curves;

    private List<(int Width, double Saved)> BuildCurve(int group, int channels)
    {
        var samples = Samples.Where(s => s.Group == group && s.Width < channels).OrderByDescending(s => s.Width).ToList();
        var (fitted, pooled) = IsotonicBlocks(samples.Select(s => BaseMs - s.Ms).ToList());
        double noise = Noise * BaseMs;
        double perChannel = PriorPerChannel(group, channels);
        var points = new List<(int Width, double Saved)> { (channels, 0) };
        double most = 0;
        for (int i = 0; i < samples.Count; i++)
        {
            // A fitted value is the mean of the samples pooled into it: its noise is the ratio's over √(their count).
            double credited = fitted[i] - noise / Math.Sqrt(pooled[i]);
            double prior = perChannel * (channels - samples[i].Width);
            most = Math.Max(most, Math.Max(credited, prior));
            points.Add((samples[i].Width, most));
        }
        return points;
    }

    /// <summary>The floor's time per channel of a group (ms): <see cref="PriorShare"/> of the base's time in
    /// proportion to the group's share of the MACs, spread over its channels; 0 for a group not measured.</summary>
    private double PriorPerChannel(int group, int channels)
    {
        // Read for every move the allocation weighs: the measured groups and the MACs' total are found once per table.
        var (measured, all) = _priorBasis ??= (Samples.Select(s => s.Group).ToHashSet(), GroupMacs.Values.Sum());
        return measured.Contains(group) && all > 0 && channels > 0 && GroupMacs.TryGetValue(group, out long macs) ? PriorShare * BaseMs * macs / all / channels : 0;
    }

    private (HashSet<int> Measured, long AllMacs)? _priorBasis;

    /// <summary>The share of a group's MAC-proportional time credited as its saving where its measurements show
    /// less (inside the noise, or a group not measured): small, so that measured savings decide first, but positive,
    /// so that the chain of allocations goes on to every group's narrowest width, narrowing the groups the model cannot
    /// resolve in the order of their cost per MAC.</summary>
    public const double PriorShare = 0.05;

    /// <summary>The non-decreasing sequence nearest <paramref name="values"/> in least squares (pool adjacent
    /// violators): runs of values that decrease are replaced by their mean.</summary>
    public static double[] Isotonic(IReadOnlyList<double> values) => IsotonicBlocks(values).Fitted;

    /// <summary><see cref="Isotonic"/> with, for each value, how many values were pooled into its fitted one.</summary>
    public static (double[] Fitted, int[] Pooled) IsotonicBlocks(IReadOnlyList<double> values)
    {
        var blocks = new List<(double Sum, int Count)>();
        foreach (double v in values)
        {
            blocks.Add((v, 1));
            while (blocks.Count > 1 && blocks[^2].Sum / blocks[^2].Count > blocks[^1].Sum / blocks[^1].Count)
            {
                var (s, c) = blocks[^1];
                blocks.RemoveAt(blocks.Count - 1);
                blocks[^1] = (blocks[^1].Sum + s, blocks[^1].Count + c);
            }
        }
        return (blocks.SelectMany(b => Enumerable.Repeat(b.Sum / b.Count, b.Count)).ToArray(),
            blocks.SelectMany(b => Enumerable.Repeat(b.Count, b.Count)).ToArray());
    }

    /// <summary>The noise of one measured ratio: the root mean square of (ratio − 1) of the full network timed
    /// against itself in a session of its own beside every group's measurements (<see cref="NullRatios"/>); 0 when
    /// none were taken. On a shared machine two sessions of the same network differ by a persistent few per cent at
    /// large batches (where their buffers land), which more timed passes do not average out.</summary>
    public double Noise => NoiseOf(NullRatios);

    private static double NoiseOf(IReadOnlyList<double> nullRatios) =>
        nullRatios.Count == 0 ? 0 : Math.Sqrt(nullRatios.Average(r => (r - 1) * (r - 1)));

    /// <summary>The full network timed against itself (a second session) in each group's measurement: ratios that
    /// would be 1 without noise.</summary>
    public IReadOnlyList<double> NullRatios { get; init; } = [];

    /// <summary>A group's time per MAC removed (ms): its measured savings over the MACs its layers lose at each
    /// sampled width (as if they shrank in proportion), averaged; 0 for a group not measured.</summary>
    public double TimePerMac(int group)
    {
        if (!GroupMacs.TryGetValue(group, out long macs) || macs <= 0) return 0;
        var rates = Samples.Where(s => s.Group == group && s.Width < s.Channels)
            .Select(s => Saved(group, s.Channels, s.Width) / (macs * (1 - (double)s.Width / s.Channels))).ToList();
        return rates.Count == 0 ? 0 : rates.Average();
    }

    /// <summary>The pairs' times T_AB (ms at full width) and each group's pairs, built once per table.</summary>
    private (double[] Times, Dictionary<int, List<int>> ByGroup) Interactions => _interactions ??= BuildInteractions();
    private (double[] Times, Dictionary<int, List<int>> ByGroup)? _interactions;

    private (double[] Times, Dictionary<int, List<int>> ByGroup) BuildInteractions()
    {
        var rate = Pairs.SelectMany(p => new[] { p.In, p.Out }).Distinct().ToDictionary(g => g, TimePerMac);
        var times = Pairs.Select(p => p.Macs * (rate[p.In] + rate[p.Out]) / 2).ToArray();
        var byGroup = new Dictionary<int, List<int>>();
        for (int i = 0; i < Pairs.Count; i++)
            foreach (int g in new[] { Pairs[i].In, Pairs[i].Out })
            {
                if (!byGroup.TryGetValue(g, out var list)) byGroup[g] = list = [];
                list.Add(i);
            }
        return (times, byGroup);
    }

    /// <summary>The predicted latency (ms) of the network with the groups at <paramref name="widths"/> (others full).</summary>
    public double Predict(IReadOnlyList<WidthChoices> choices, IReadOnlyDictionary<int, int> widths)
    {
        var channels = choices.ToDictionary(c => c.Group, c => c.Channels);
        double Removed(int g) => widths.TryGetValue(g, out int w) && channels.TryGetValue(g, out int c) ? 1 - (double)w / c : 0;
        double ms = BaseMs - choices.Sum(c => widths.TryGetValue(c.Group, out int w) ? Saved(c.Group, c.Channels, w) : 0);
        var (times, _) = Interactions;
        for (int i = 0; i < Pairs.Count; i++) ms += times[i] * Removed(Pairs[i].In) * Removed(Pairs[i].Out);
        return ms;
    }

    /// <summary>The time saved (ms) by moving group <paramref name="group"/> from <paramref name="from"/> to
    /// <paramref name="to"/> channels while the other groups stay at <paramref name="widths"/>: what
    /// <see cref="Predict"/> changes by.</summary>
    public double Gain(IReadOnlyDictionary<int, int> widths, IReadOnlyDictionary<int, int> channels, int group, int from, int to)
    {
        int c = channels[group];
        double gain = Saved(group, c, to) - Saved(group, c, from);
        var (times, byGroup) = Interactions;
        if (byGroup.TryGetValue(group, out var pairs))
        {
            double delta = (double)(from - to) / c;
            foreach (int i in pairs)
            {
                var p = Pairs[i];
                if (p.In == p.Out) continue;
                int other = p.In == group ? p.Out : p.In;
                double removedOther = widths.TryGetValue(other, out int w) ? 1 - (double)w / channels[other] : 0;
                gain -= times[i] * removedOther * delta;
            }
        }
        // The interactions never take a move under the floor's saving: the chain goes on to the narrowest widths.
        return Math.Max(gain, PriorPerChannel(group, c) * (from - to));
    }

    /// <summary>Measures the table: <paramref name="model"/> full and with each group narrowed, timed by
    /// <paramref name="probe"/> side by side with the full network, group by group. Each group is also timed at a
    /// width <paramref name="roundTo"/> under its aligned ½ sample (an odd multiple of round_to), the evidence
    /// (<see cref="AlignmentProbes"/>, <see cref="AlignmentOf"/>) of a runtime whose kernels work on blocks of
    /// 2·round_to channels, as ONNX Runtime's NCHWc convolutions do with 16 on AVX-512.</summary>
    public static LatencyTable Measure(IPrunableNetwork model, DependencyGraph graph, IReadOnlyList<WidthChoices> choices,
        ILatencyProbe probe, string key, TextWriter log, int roundTo = 8)
    {
        var setting = probe.Setting;
        long baseMacs = MacCounter.ThopMacs(model.Module, setting.ImageSize);
        int block = 2 * roundTo;
        var notMeasured = new Dictionary<int, string>();
        var ratios = new List<(WidthChoices Choice, int Width, double Ratio)>();
        var evidence = new List<AlignmentProbe>();
        var baseMedians = new List<double>();
        var nulls = new List<double>();
        var measured = choices.Where(c =>
        {
            if (c.Widths.Count < 2)
            {
                notMeasured[c.Group] = "no narrower width (pinned, or already at round_to)";
                return false;
            }
            using var narrow = model.Rebuild(WidthChoices.SpaceWidths(graph, new Dictionary<int, int> { [c.Group] = c.Narrowest }));
            double share = 1 - (double)MacCounter.ThopMacs(narrow.Module, setting.ImageSize) / baseMacs;
            if (share < MinimumMacsShare)
            {
                notMeasured[c.Group] = $"its narrowest width removes {share:P2} of the MACs (< {MinimumMacsShare:P1})";
                return false;
            }
            return true;
        }).ToList();
        int done = 0;
        foreach (var c in measured)
        {
            var widths = SampleWidths(c, block).ToList();
            int? aligned = null, off = null;
            int half = widths.Where(w => w % block == 0).OrderBy(w => Math.Abs(w - c.Channels / 2.0)).FirstOrDefault();
            if (half > 0 && c.Widths.Contains(half - roundTo) && (half - roundTo) % block != 0)
            {
                (aligned, off) = (half, half - roundTo);
                if (!widths.Contains(off.Value)) widths.Add(off.Value);
            }
            widths = widths.OrderByDescending(w => w).ToList();
            var networks = new List<IPrunableNetwork> { model };
            try
            {
                foreach (int w in widths)
                    networks.Add(model.Rebuild(WidthChoices.SpaceWidths(graph, new Dictionary<int, int> { [c.Group] = w })));
                // The full network once more, last (a session of its own): the noise of a ratio (NullRatios).
                networks.Add(model);
                var medians = probe.Medians(networks, setting.Runs);
                baseMedians.Add(medians[0]);
                nulls.Add(medians[^1] / medians[0]);
                for (int i = 0; i < widths.Count; i++) ratios.Add((c, widths[i], medians[i + 1] / medians[0]));
                if (aligned is int a && off is int o)
                    evidence.Add(new AlignmentProbe(c.Group, a, medians[widths.IndexOf(a) + 1] / medians[0], o, medians[widths.IndexOf(o) + 1] / medians[0]));
                done++;
                log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  latency model {done}/{measured.Count}: group {c.Group} [{c.Kind}] {c.Channels} ch: {string.Join(", ", widths.Select((w, i) => $"{w} → {medians[i + 1] / medians[0]:F3}"))} of the base's {medians[0]:F2} ms (the base in another session: {medians[^1] / medians[0]:F3})"));
            }
            finally
            {
                foreach (var n in networks.Skip(1).Where(n => !ReferenceEquals(n, model))) n.Dispose();
            }
        }
        double baseMs = baseMedians.Count > 0 ? LatencyStats.Summarise(baseMedians).Median : probe.Medians([model], setting.Runs)[0];
        var (groupMacs, pairs) = Structure(model, graph, setting.ImageSize);
        int alignment = AlignmentOf(evidence, block);
        if (evidence.Count > 0)
        {
            double sum = evidence.Sum(e => e.Penalty);
            string verdict = alignment > 1 ? $"widths are kept to multiples of {block}" : "no alignment needed by the groups alone";
            log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  alignment: {evidence.Count(e => e.Penalty > 0)} of {evidence.Count} groups run slower {roundTo} channels under an aligned width (together {sum:+0.000;-0.000} of the base): {verdict}"));
        }
        if (nulls.Count > 0)
            log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  noise: the base against itself in another session ran {nulls.Min():F3}–{nulls.Max():F3}; a ratio's noise (RMS of ratio − 1) {NoiseOf(nulls):F3}; each fitted saving is lowered by it over the square root of the samples pooled into it"));
        return new LatencyTable
        {
            Key = key,
            Network = Describe(model),
            Setting = setting,
            Machine = probe.Machine,
            BaseMs = baseMs,
            Samples = ratios.Select(r => new LatencySample(r.Choice.Group, r.Choice.Kind, r.Choice.Space, r.Choice.Channels, r.Width, r.Ratio * baseMs, r.Ratio)).ToList(),
            NotMeasured = notMeasured,
            GroupMacs = groupMacs,
            Pairs = pairs,
            AlignmentProbes = evidence,
            NullRatios = nulls,
            MeasuredUtc = DateTime.UtcNow,
        };
    }

    /// <summary>The alignment the probes show: <paramref name="block"/> when more than half of the groups run slower
    /// at the narrower, unaligned width and their slow-downs add up to over 2% of the base (each is small; narrowing
    /// many groups adds them up); else 1.</summary>
    public static int AlignmentOf(IReadOnlyList<AlignmentProbe> evidence, int block)
    {
        if (evidence.Count == 0) return 1;
        int slower = evidence.Count(e => e.Penalty > 0);
        return 2 * slower > evidence.Count && evidence.Sum(e => e.Penalty) > 0.02 ? block : 1;
    }

    /// <summary>The table with widths kept to multiples of <paramref name="alignment"/>: unaligned samples left out of
    /// the curves.</summary>
    public LatencyTable WithAlignment(int alignment)
    {
        if (alignment <= 1) return this;
        var t = this with { Alignment = alignment, Samples = Samples.Where(s => s.Width % alignment == 0).ToList() };
        (t._interactions, t._curves, t._priorBasis) = (null, null, null);
        return t;
    }

    /// <summary>The widths the allocation may give each group: with an <see cref="Alignment"/>, its full width and the
    /// aligned widths of its grid.</summary>
    public IReadOnlyList<WidthChoices> Aligned(IReadOnlyList<WidthChoices> choices) => Alignment <= 1
        ? choices
        : choices.Select(c => c with { Widths = c.Widths.Where(w => w == c.Channels || w % Alignment == 0).ToList() }).ToList();

    /// <summary>Each group's MACs (thop, of the layers whose channels it holds) and the MACs between pairs of groups
    /// (layers with one group in, another out).</summary>
    public static (Dictionary<int, long> GroupMacs, List<LatencyPair> Pairs) Structure(IPrunableNetwork model, DependencyGraph graph, int imageSize)
    {
        var groupOf = graph.Groups.ToDictionary(g => graph.Find(g.Space), g => g.Id, StringComparer.Ordinal);
        var macs = MacCounter.Count(model.Module, imageSize).Layers.GroupBy(l => l.Name).ToDictionary(g => g.Key, g => g.Sum(l => l.MacsThop), StringComparer.Ordinal);
        var groupMacs = graph.Groups.ToDictionary(g => g.Id, _ => 0L);
        var pairs = new Dictionary<(int, int), long>();
        foreach (var (layer, roles) in graph.LayerRoles)
        {
            if (!macs.TryGetValue(layer, out long m) || m == 0) continue;
            int? Of(LayerRole r) => groupOf.TryGetValue(graph.Find(r.Space), out int id) ? id : null;
            var ins = roles.Where(r => r.Role == ChannelRole.In).Select(Of).OfType<int>().Distinct().ToList();
            var outs = roles.Where(r => r.Role is ChannelRole.Out or ChannelRole.Depthwise).Select(Of).OfType<int>().Distinct().ToList();
            foreach (int g in ins.Concat(outs).Distinct()) groupMacs[g] += m;
            if (ins.Count == 1 && outs.Count == 1 && ins[0] != outs[0])
                pairs[(ins[0], outs[0])] = pairs.GetValueOrDefault((ins[0], outs[0])) + m;
        }
        return (groupMacs, pairs.Select(p => new LatencyPair(p.Key.Item1, p.Key.Item2, p.Value)).OrderBy(p => p.In).ThenBy(p => p.Out).ToList());
    }

    /// <summary>The widths a group is timed at: those of its grid nearest ¾, ½ and ¼ of its channels and its narrowest
    /// — preferring multiples of <paramref name="block"/> where the grid has them —, and its narrowest of all.</summary>
    public static IReadOnlyList<int> SampleWidths(WidthChoices c, int block = 1)
    {
        var narrower = c.Widths.Where(w => w < c.Channels).ToList();
        var aligned = narrower.Where(w => w % block == 0).ToList();
        var pool = aligned.Count > 0 ? aligned : narrower;
        var picked = new SortedSet<int>(Comparer<int>.Create((a, b) => b.CompareTo(a)));
        foreach (double f in new[] { 0.75, 0.5, 0.25 })
            picked.Add(pool.OrderBy(w => Math.Abs(w - f * c.Channels)).ThenBy(w => w).First());
        picked.Add(pool.Min());
        picked.Add(c.Narrowest);
        return picked.ToList();
    }

    public static string Describe(IPrunableNetwork model) =>
        $"{model.Architecture}, {model.NumClasses} classes, {model.Module.parameters().Sum(p => p.numel()):N0} parameters";

    /// <summary>The model as CSV: one row per measured point (the full network first, at ratio 1), then one row per
    /// group not measured.</summary>
    public string ToCsv()
    {
        var sb = new StringBuilder("group,kind,space,channels,width,kept_fraction,latency_ms,ratio_to_base,saved_ms,note\n");
        sb.Append(CultureInfo.InvariantCulture, $",base,,,,1,{BaseMs:F4},1,0,full network ({Setting.Describe()})\n");
        foreach (var s in Samples.OrderBy(s => s.Group).ThenByDescending(s => s.Width))
            sb.Append(CultureInfo.InvariantCulture,
                $"{s.Group},{s.Kind},\"{s.Space}\",{s.Channels},{s.Width},{(double)s.Width / s.Channels:F4},{s.Ms:F4},{s.RatioToBase:F5},{Saved(s.Group, s.Channels, s.Width):F4},measured (saved_ms: the model's credit)\n");
        foreach (var p in AlignmentProbes)
            sb.Append(CultureInfo.InvariantCulture,
                $"{p.Group},,,,{p.Unaligned},,{p.UnalignedRatio * BaseMs:F4},{p.UnalignedRatio:F5},,\"alignment probe: {p.Aligned} channels ran {p.AlignedRatio:F5}; {(Alignment > 1 ? $"widths kept to multiples of {Alignment}" : "no alignment")}\"\n");
        foreach (var r in NullRatios)
            sb.Append(CultureInfo.InvariantCulture, $",base,,,,1,{r * BaseMs:F4},{r:F5},,\"noise: the full network against itself in another session (RMS of ratio - 1 over all: {Noise:F4}; each fitted saving lowered by it over the square root of the samples pooled)\"\n");
        foreach (var (g, why) in NotMeasured.OrderBy(p => p.Key))
            sb.Append(CultureInfo.InvariantCulture, $"{g},,,,,,,,0,\"not measured: {why.Replace("\"", "'")}\"\n");
        return sb.ToString();
    }

    /// <summary>Per measured group (in <see cref="Curves"/>' order), what the model credits at the same widths: the
    /// network's latency with that group narrowed as the model predicts it (base − the credited saving).</summary>
    public IReadOnlyList<(string Label, double[] Kept, double[] Ms)> Fitted() =>
        PerGroup((group, _) => $"group {group} model", s => BaseMs - Saved(s.Group, s.Channels, s.Width));

    /// <summary>Per measured group, its curve for a plot: kept fraction and network latency (ms), full width first.</summary>
    public IReadOnlyList<(string Label, double[] Kept, double[] Ms)> Curves() =>
        PerGroup((group, first) => $"group {group} [{first.Kind}] {first.Channels} ch", s => s.Ms);

    private IReadOnlyList<(string Label, double[] Kept, double[] Ms)> PerGroup(Func<int, LatencySample, string> label, Func<LatencySample, double> ms) =>
        Samples.GroupBy(s => s.Group).OrderBy(g => g.Key).Select(g =>
        {
            var pts = g.OrderByDescending(s => s.Width).ToList();
            return (label(g.Key, g.First()),
                (double[])[1.0, .. pts.Select(s => (double)s.Width / s.Channels)],
                (double[])[BaseMs, .. pts.Select(ms)]);
        }).ToList();
}
