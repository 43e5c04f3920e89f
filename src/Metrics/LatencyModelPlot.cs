using Harness.Storage.Files;
using ScottPlot;

namespace Harness.Metrics;

/// <summary>The latency model of a network as a chart: per measured group, the whole network's latency against the
/// fraction of the group's channels kept (every other group full), as measured, and — dashed, for the groups drawn in
/// colour — what the model credits there (the monotone fit less its noise). The groups that save the most time are
/// drawn in colour with a legend entry, the rest thin and grey; the base latency is a dashed black line.</summary>
public static class LatencyModelPlot
{
    public const int Highlighted = 8;

    /// <summary>Category10 without its grey, which the groups not highlighted use.</summary>
    private static readonly Color[] Palette = Colors.Category10.Where((_, i) => i != 7).ToArray();

    public static void Save(string path, string title, double baseMs, IReadOnlyList<(string Label, double[] Kept, double[] Ms)> curves,
        IReadOnlyList<(string Label, double[] Kept, double[] Ms)>? fitted = null)
    {
        var plot = new Plot();
        var ranked = curves.Select((c, i) => (c, i, Saved: baseMs - c.Ms.Min())).OrderByDescending(x => x.Saved).ToList();
        var colour = ranked.Take(Highlighted).Select((x, k) => (x.i, k)).ToDictionary(p => p.i, p => p.k);
        foreach (var (c, i, _) in ranked.AsEnumerable().Reverse())
        {
            var line = plot.Add.Scatter(c.Kept, c.Ms);
            if (colour.TryGetValue(i, out int k))
            {
                line.Color = Palette[k % Palette.Length];
                line.LineWidth = 2;
                line.MarkerSize = 6;
                line.LegendText = c.Label;
                if (fitted is not null && i < fitted.Count)
                {
                    var model = plot.Add.Scatter(fitted[i].Kept, fitted[i].Ms);
                    model.Color = line.Color;
                    model.LineWidth = 1.5f;
                    model.LinePattern = LinePattern.Dashed;
                    model.MarkerSize = 0;
                    model.LegendText = "";
                }
            }
            else
            {
                line.Color = Colors.Gray.WithAlpha(0.5);
                line.LineWidth = 1;
                line.MarkerSize = 3;
                line.LegendText = "";
            }
        }
        var reference = plot.Add.HorizontalLine(baseMs, 1.5f, Colors.Black, LinePattern.Dashed);
        reference.LegendText = fitted is null ? $"base {baseMs:F2} ms" : $"base {baseMs:F2} ms; dashed colour: the model's credit";
        plot.Title(title);
        plot.XLabel("channels kept in the group (fraction of its width; other groups full)");
        plot.YLabel("network latency (ms)");
        // Every measured point inside the frame: a noisy sample above the base is part of the record.
        double low = curves.SelectMany(c => c.Ms).Append(baseMs).Min(), high = curves.SelectMany(c => c.Ms).Append(baseMs).Max();
        double pad = 0.06 * (high - low + 1e-9) + 0.01 * baseMs;
        plot.Axes.SetLimitsX(1.04, 0);
        plot.Axes.SetLimitsY(low - pad, high + pad);
        plot.ShowLegend(Alignment.LowerLeft);
        byte[] png = plot.GetImageBytes(900, 560, ImageFormat.Png);
        AtomicFile.WriteAllBytes(path, png);
    }
}
