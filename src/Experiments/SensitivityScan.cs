using Harness.Data;
using Harness.Metrics;
using Harness.Model.Networks;
using Harness.Pruning.Channels;
using Harness.Pruning.FineGrained;
using Harness.Storage.Files;
using Harness.Training;
using System.Globalization;

namespace Harness.Experiments;

/// <summary>One unit (a channel group, or a layer with fine-grained pruning) pruned alone at one ratio.</summary>
public sealed record SensitivityRow(string Unit, string Members, double Ratio, int Removed, double MacsShare, double Accuracy, double Loss, double Drop);

/// <summary>
/// Sensitivity analysis: each channel group (or, fine-grained, each layer) is pruned alone, one-shot, at each ratio
/// (channel: Torch-Pruning's width arithmetic and L1 group importance, the rest of the network untouched;
/// fine-grained: L1 over that layer's weights) and evaluated on the test subset. The drop is the base model's
/// accuracy minus the pruned one's; the MACs share is the fraction of the model's thop MACs that pruning removes.
/// Groups are ranked by their mean drop (most sensitive first).
/// </summary>
public static class SensitivityScan
{
    public static (double BaseAccuracy, double BaseLoss, IReadOnlyList<SensitivityRow> Rows) Run(IPrunableNetwork model, IReadOnlyList<double> ratios,
        BatchLoader test, int imageSize, int roundTo, bool fineGrained, TextWriter log)
    {
        var baseEval = Evaluator.Evaluate(model.Module, test);
        long baseMacs = MacCounter.ThopMacs(model.Module, imageSize);
        var rows = new List<SensitivityRow>();
        if (fineGrained)
        {
            foreach (var name in model.PrunableLayers().Select(l => l.Name).ToList())
            {
                foreach (var r in ratios)
                {
                    using var copy = Harness.Model.ModelLoader.Copy(model);
                    var result = FineGrainedPruner.Prune(copy.Module, new FineGrainedOptions { Amount = r, Scope = PruningScope.Layer, Include = [name] });
                    long effective = MacCounter.Count(copy.Module, imageSize).Effective(MacConvention.Thop);
                    var e = Evaluator.Evaluate(copy.Module, test);
                    rows.Add(new SensitivityRow(name, name, r, (int)result.Report.Zeros, 1 - (double)effective / baseMacs, e.Accuracy, e.Loss, baseEval.Accuracy - e.Accuracy));
                }
                log.WriteLine($"  {name}: drops {string.Join(", ", rows.TakeLast(ratios.Count).Select(x => $"{100 * x.Drop:F1}"))} pp");
            }
        }
        else
        {
            var graph = DependencyGraph.Build(model);
            var modules = ChannelImportance.Modules(model);
            var options = new ChannelPruningOptions { RoundTo = roundTo };
            foreach (var g in graph.Groups)
            {
                using var score = ChannelImportance.Score(modules, g, ChannelImportances.L1);
                var order = score.data<double>().ToArray().Select((s, i) => (s, i)).OrderBy(x => x.s).ThenBy(x => x.i).Select(x => x.i).ToArray();
                string members = string.Join(" ", g.Members.Select(m => m.Layer).Distinct());
                foreach (var r in ratios)
                {
                    int drop = g.Channels - options.KeptWidth(g.Channels, r);
                    if (drop <= 0)
                    {
                        rows.Add(new SensitivityRow($"{g.Id}", members, r, 0, 0, baseEval.Accuracy, baseEval.Loss, 0));
                        continue;
                    }
                    var (pruned, _) = ChannelPruner.PruneChannels(model, graph, new Dictionary<int, int[]> { [g.Id] = order.Take(drop).Order().ToArray() });
                    using (pruned)
                    {
                        long macs = MacCounter.ThopMacs(pruned.Module, imageSize);
                        var e = Evaluator.Evaluate(pruned.Module, test);
                        rows.Add(new SensitivityRow($"{g.Id}", members, r, drop, 1 - (double)macs / baseMacs, e.Accuracy, e.Loss, baseEval.Accuracy - e.Accuracy));
                    }
                }
                log.WriteLine($"  group {g.Id} ({g.Channels} channels): drops {string.Join(", ", rows.TakeLast(ratios.Count).Select(x => $"{100 * x.Drop:F1}"))} pp");
            }
        }
        return (baseEval.Accuracy, baseEval.Loss, rows);
    }

    /// <summary>Per-group ratios that meet a MACs budget, lower for sensitive groups: starting from nothing pruned,
    /// repeatedly move the group whose next scanned ratio costs the least accuracy per MAC it saves (the scan's drop and
    /// MACs share, each group measured alone) one ratio up, until the network those ratios give measures at most
    /// <paramref name="targetMacs"/> (thop MACs at <paramref name="imageSize"/>). An unreachable budget is an
    /// <see cref="ArgumentException"/> naming the MACs with every group at the largest scanned ratio.</summary>
    public static (Dictionary<int, double> GroupRatios, long Achieved) RatiosFor(IPrunableNetwork model, IReadOnlyList<SensitivityRow> rows,
        IReadOnlyList<double> ratios, long targetMacs, int imageSize, int roundTo)
    {
        var graph = DependencyGraph.Build(model);
        var sorted = ratios.Order().ToArray();
        var level = graph.Groups.ToDictionary(g => g.Id, _ => -1);
        var byUnit = rows.ToLookup(r => r.Unit);
        (double Drop, double Share) At(int group, int lvl) =>
            lvl < 0 ? (0, 0) : byUnit[$"{group}"].Where(r => r.Ratio == sorted[lvl]).Select(r => (r.Drop, r.MacsShare)).First();
        Dictionary<int, double> Current() => level.Where(kv => kv.Value >= 0).ToDictionary(kv => kv.Key, kv => sorted[kv.Value]);
        long Measure()
        {
            var options = new ChannelPruningOptions { Ratio = 0, RoundTo = roundTo, GroupRatios = Current() };
            using var n = model.Rebuild(ChannelPruner.PlannedWidths(graph, options));
            return MacCounter.ThopMacs(n.Module, imageSize);
        }
        long macs = Measure();
        while (macs > targetMacs)
        {
            var next = graph.Groups.Where(g => level[g.Id] + 1 < sorted.Length)
                .Select(g =>
                {
                    var (d0, s0) = At(g.Id, level[g.Id]);
                    var (d1, s1) = At(g.Id, level[g.Id] + 1);
                    double saved = s1 - s0;
                    return (g.Id, Cost: saved > 0 ? Math.Max(0, d1 - d0) / saved : double.PositiveInfinity, Saved: saved);
                })
                .Where(x => x.Saved > 0).OrderBy(x => x.Cost).ThenBy(x => x.Id).ToList();
            if (next.Count == 0)
                throw new ArgumentException($"--target-macs {targetMacs:N0} is unreachable with the scanned ratios: every group at {sorted[^1]} gives {macs:N0} MACs");
            level[next[0].Id]++;
            macs = Measure();
        }
        return (Current(), macs);
    }

    /// <summary>Units by mean drop over the ratios, most sensitive first (ties by unit order).</summary>
    public static IReadOnlyList<(string Unit, double MeanDrop)> Ranking(IReadOnlyList<SensitivityRow> rows) =>
        rows.GroupBy(r => r.Unit).Select((g, i) => (g.Key, g.Average(r => r.Drop), i)).OrderByDescending(x => x.Item2).ThenBy(x => x.i)
            .Select(x => (x.Key, x.Item2)).ToList();

    public static string ToCsv(IReadOnlyList<SensitivityRow> rows, bool fineGrained) => CsvTable.Format(
        [fineGrained ? "layer" : "group", "members", "ratio", "removed", "macs_share", "accuracy", "loss", "drop"],
        rows.Select(r => (IReadOnlyList<object?>)new object?[] { r.Unit, r.Members, r.Ratio, r.Removed, r.MacsShare, r.Accuracy, r.Loss, r.Drop }));

    public static void SaveHeatmap(IReadOnlyList<SensitivityRow> rows, IReadOnlyList<double> ratios, double baseAccuracy, bool fineGrained, string path)
    {
        var units = rows.Select(r => r.Unit).Distinct().ToList();
        var byUnit = rows.ToLookup(r => r.Unit);
        double worst = Math.Max(1e-9, rows.Max(r => r.Drop));
        var text = units.Select(u => ratios.Select(q => $"{100 * byUnit[u].First(r => r.Ratio == q).Drop:F1}").ToArray()).ToArray();
        var shade = units.Select(u => ratios.Select(q => Math.Max(0, byUnit[u].First(r => r.Ratio == q).Drop) / worst).ToArray()).ToArray();
        var labels = units.Select(u => fineGrained ? u : $"{u}: {Shorten(byUnit[u].First().Members)}").ToList();
        var mean = units.Select(u => $"{100 * byUnit[u].Average(r => r.Drop):F1}").ToList();
        HeatmapPlot.Save(new HeatmapPlot.Grid($"Sensitivity: accuracy drop (pp) when pruned alone; base accuracy {100 * baseAccuracy:F2}%",
            fineGrained ? "layer" : "channel group", "ratio", labels, ratios.Select(q => q.ToString("0.##", CultureInfo.InvariantCulture)).ToList(),
            text, shade, HeatmapPlot.Palette.Reds, "mean", mean), path);
    }

    private static string Shorten(string members)
    {
        var parts = members.Split(' ');
        return parts.Length <= 2 ? members : $"{parts[0]} … ({parts.Length} layers)";
    }
}
