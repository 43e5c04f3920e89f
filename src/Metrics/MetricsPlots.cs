using Harness.Model.Checkpoints;
using ScottPlot;
using SkiaSharp;

namespace Harness.Metrics;

/// <summary>PNG images of the metrics: the table, the training/validation curves and the comparison of models
/// (accuracy against FLOPs and against size). Every file is written atomically.</summary>
public static class MetricsPlots
{
    private const int PanelWidth = 640;
    private const int PanelHeight = 440;

    /// <summary><c>&lt;dir&gt;/&lt;experiment&gt;_metrics_table.png</c>.</summary>
    public static string TablePath(string dir, string experiment) =>
        Path.Combine(dir, $"{experiment}_metrics_table.png");

    /// <summary><c>&lt;dir&gt;/&lt;experiment&gt;_training_validation_plots.png</c>.</summary>
    public static string CurvesPath(string dir, string experiment) =>
        Path.Combine(dir, $"{experiment}_training_validation_plots.png");

    /// <summary><c>&lt;dir&gt;/&lt;experiment&gt;_comparison.png</c>.</summary>
    public static string ComparisonPath(string dir, string experiment) =>
        Path.Combine(dir, $"{experiment}_comparison.png");

    /// <summary>Draws <paramref name="table"/> as a grid of text cells with a shaded header row.</summary>
    public static void SaveTable(MetricsTable table, string path, string? title = null)
    {
        using var typeface = SKTypeface.FromFamilyName("DejaVu Sans") ?? SKTypeface.Default;
        using var font = new SKFont(typeface, 15);
        using var bold = new SKFont(SKTypeface.FromFamilyName("DejaVu Sans", SKFontStyle.Bold) ?? typeface, 15);
        const float padX = 10, rowHeight = 30, margin = 16;
        float titleHeight = title is null ? 0 : 36;

        int columns = table.Headers.Count;
        var widths = new float[columns];
        for (int c = 0; c < columns; c++)
        {
            widths[c] = bold.MeasureText(table.Headers[c]) + 2 * padX;
            foreach (var row in table.Rows)
                widths[c] = Math.Max(widths[c], font.MeasureText(row[c]) + 2 * padX);
        }
        int width = (int)Math.Ceiling(widths.Sum() + 2 * margin);
        int height = (int)Math.Ceiling(titleHeight + rowHeight * (table.Rows.Count + 1) + 2 * margin);

        using var surface = SKSurface.Create(new SKImageInfo(width, height));
        var canvas = surface.Canvas;
        canvas.Clear(SKColors.White);
        using var text = new SKPaint { Color = SKColors.Black, IsAntialias = true };
        using var header = new SKPaint { Color = new SKColor(0xDD, 0xE6, 0xF0) };
        using var stripe = new SKPaint { Color = new SKColor(0xF5, 0xF7, 0xFA) };
        using var line = new SKPaint { Color = new SKColor(0xB0, 0xB8, 0xC0), StrokeWidth = 1, IsStroke = true };

        if (title is not null)
            canvas.DrawText(title, margin, margin + 22, SKTextAlign.Left, bold, text);
        float top = margin + titleHeight;
        float tableWidth = widths.Sum();
        canvas.DrawRect(margin, top, tableWidth, rowHeight, header);
        for (int r = 0; r < table.Rows.Count; r++)
            if (r % 2 == 1)
                canvas.DrawRect(margin, top + rowHeight * (r + 1), tableWidth, rowHeight, stripe);

        for (int r = 0; r <= table.Rows.Count; r++)
        {
            var cells = r == 0 ? table.Headers : table.Rows[r - 1];
            float x = margin;
            float baseline = top + rowHeight * r + rowHeight / 2 + 5;
            for (int c = 0; c < columns; c++)
            {
                var f = r == 0 ? bold : font;
                if (c == 0)
                    canvas.DrawText(cells[c], x + padX, baseline, SKTextAlign.Left, f, text);
                else
                    canvas.DrawText(cells[c], x + widths[c] - padX, baseline, SKTextAlign.Right, f, text);
                x += widths[c];
            }
        }
        float bottom = top + rowHeight * (table.Rows.Count + 1);
        for (int r = 0; r <= table.Rows.Count + 1; r++)
            canvas.DrawLine(margin, top + rowHeight * r, margin + tableWidth, top + rowHeight * r, line);
        float lx = margin;
        canvas.DrawLine(lx, top, lx, bottom, line);
        foreach (var w in widths)
        {
            lx += w;
            canvas.DrawLine(lx, top, lx, bottom, line);
        }
        WritePng(surface, path);
    }

    /// <summary>Two panels side by side: loss and accuracy per epoch, training against validation.</summary>
    public static void SaveTrainingCurves(TrainingCurves curves, string path, string? title = null)
    {
        curves.Validate();
        double[] epochs = curves.Epochs.Select(e => (double)e).ToArray();
        var loss = new Plot();
        AddSeries(loss, epochs, curves.TrainLoss, "train", Colors.C0);
        AddSeries(loss, epochs, curves.ValidationLoss, "validation", Colors.C1);
        loss.Title(title is null ? "Loss" : $"{title}: loss");
        loss.XLabel("epoch");
        loss.YLabel("cross-entropy loss");
        loss.ShowLegend(Alignment.UpperRight);
        loss.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };

        var accuracy = new Plot();
        AddSeries(accuracy, epochs, curves.TrainAccuracy.Select(a => 100 * a).ToList(), "train", Colors.C0);
        AddSeries(accuracy, epochs, curves.ValidationAccuracy.Select(a => 100 * a).ToList(), "validation", Colors.C1);
        accuracy.Title(title is null ? "Accuracy" : $"{title}: accuracy");
        accuracy.XLabel("epoch");
        accuracy.YLabel("top-1 accuracy (%)");
        accuracy.ShowLegend(Alignment.LowerRight);
        accuracy.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };

        SavePanels(path, loss, accuracy);
    }

    /// <summary>Two panels: test accuracy against effective GFLOPs (2 × MACs under <paramref name="convention"/>,
    /// zero weights skipped, which equals the dense count for unpruned models) and against size in MB (the sparse
    /// checkpoint where one was measured, else the state-dict file), one labelled point per model that has a test
    /// accuracy.</summary>
    public static void SaveComparison(IReadOnlyList<ModelMetrics> models, string path,
        MacConvention convention = MacConvention.Thop)
    {
        var evaluated = models.Where(m => m.TestAccuracy is not null).ToList();
        if (evaluated.Count == 0)
            throw new ArgumentException(
                "the comparison chart needs at least one model with a test accuracy; none was evaluated",
                nameof(models));
        var flops = new Plot();
        var size = new Plot();
        double maxFlops = evaluated.Max(m => 2 * m.EffectiveMacs(convention) / 1e9);
        double maxSize = evaluated.Max(m => m.SparseSizeMB ?? m.SizeMB);
        for (int i = 0; i < evaluated.Count; i++)
        {
            var m = evaluated[i];
            var color = Colors.Category10[i % Colors.Category10.Length];
            double acc = 100 * m.TestAccuracy!.Value;
            AddLabelledPoint(flops, 2 * m.EffectiveMacs(convention) / 1e9, acc, m.Name, color, maxFlops);
            AddLabelledPoint(size, m.SparseSizeMB ?? m.SizeMB, acc, m.Name, color, maxSize);
        }
        LabelAccuracyPanels(flops, size, convention);
        foreach (var p in new[] { flops, size })
            p.Axes.Margins(0.2, 0.2);
        SavePanels(path, flops, size);
    }

    /// <summary>A sweep on one image, two panels: test accuracy against effective GFLOPs and against size (the
    /// sparse checkpoint where measured), one line per method through its points in ratio order, each point
    /// labelled with its ratio (the base model is ratio 0). Points without a test accuracy are left out.</summary>
    public static void SaveSweep(IReadOnlyList<(string Label, IReadOnlyList<(double Ratio, ModelMetrics Metrics)> Points)> series,
        string path, MacConvention convention = MacConvention.Thop)
    {
        if (series.All(s => s.Points.All(p => p.Metrics.TestAccuracy is null)))
            throw new ArgumentException("the sweep chart needs at least one point with a test accuracy", nameof(series));
        var flops = new Plot();
        var size = new Plot();
        for (int i = 0; i < series.Count; i++)
        {
            var color = Colors.Category10[i % Colors.Category10.Length];
            var points = series[i].Points.Where(p => p.Metrics.TestAccuracy is not null).OrderBy(p => p.Ratio).ToList();
            double[] acc = points.Select(p => 100 * p.Metrics.TestAccuracy!.Value).ToArray();
            double[] gflops = points.Select(p => 2 * p.Metrics.EffectiveMacs(convention) / 1e9).ToArray();
            double[] mb = points.Select(p => p.Metrics.SparseSizeMB ?? p.Metrics.SizeMB).ToArray();
            foreach (var (plot, xs) in new[] { (flops, gflops), (size, mb) })
            {
                AddSeries(plot, xs, acc, series[i].Label, color);
                for (int j = 0; j < points.Count; j++)
                {
                    var text = plot.Add.Text(points[j].Ratio.ToString("0.##", System.Globalization.CultureInfo.InvariantCulture), xs[j], acc[j]);
                    text.LabelFontSize = 11;
                    text.LabelFontColor = color;
                    text.LabelAlignment = Alignment.LowerLeft;
                    text.LabelOffsetX = 5;
                    text.LabelOffsetY = -4;
                }
            }
        }
        LabelAccuracyPanels(flops, size, convention);
        foreach (var p in new[] { flops, size })
        {
            p.Axes.Margins(0.1, 0.15);
            p.ShowLegend(Alignment.UpperLeft); // accuracy rises with FLOPs and size: the upper left stays empty
        }
        SavePanels(path, flops, size);
    }

    private static void LabelAccuracyPanels(Plot flops, Plot size, MacConvention convention)
    {
        flops.Title($"Accuracy vs FLOPs ({MetricsTable.Label(convention)})");
        flops.XLabel("effective GFLOPs (2 × MACs, zero weights skipped)");
        flops.YLabel("test accuracy (%)");
        size.Title("Accuracy vs size");
        size.XLabel("size MB (sparse checkpoint if measured)");
        size.YLabel("test accuracy (%)");
    }

    private static void AddSeries(Plot plot, double[] xs, IReadOnlyList<double> ys, string label, Color color)
    {
        var scatter = plot.Add.Scatter(xs, ys.ToArray(), color);
        scatter.LegendText = label;
        scatter.MarkerSize = 6;
        scatter.LineWidth = 2;
    }

    /// <summary>A marker with its name beside it; names of points in the right third of the axis go on their
    /// left so they stay inside the panel.</summary>
    private static void AddLabelledPoint(Plot plot, double x, double y, string label, Color color, double maxX)
    {
        var marker = plot.Add.Marker(x, y, MarkerShape.FilledCircle, 10, color);
        marker.LegendText = "";
        var text = plot.Add.Text(label, x, y);
        text.LabelFontSize = 13;
        text.LabelFontColor = color;
        bool right = maxX > 0 && x > 0.66 * maxX;
        text.LabelAlignment = right ? Alignment.LowerRight : Alignment.LowerLeft;
        text.LabelOffsetX = right ? -6 : 6;
        text.LabelOffsetY = -6;
    }

    private static void SavePanels(string path, params Plot[] panels)
    {
        using var surface = SKSurface.Create(new SKImageInfo(PanelWidth * panels.Length, PanelHeight));
        surface.Canvas.Clear(SKColors.White);
        for (int i = 0; i < panels.Length; i++)
        {
            byte[] png = panels[i].GetImageBytes(PanelWidth, PanelHeight, ImageFormat.Png);
            using var bitmap = SKBitmap.Decode(png);
            surface.Canvas.DrawBitmap(bitmap, PanelWidth * i, 0);
        }
        WritePng(surface, path);
    }

    private static void WritePng(SKSurface surface, string path)
    {
        using var image = surface.Snapshot();
        using var data = image.Encode(SKEncodedImageFormat.Png, 100);
        AtomicFile.WriteAllBytes(path, data.AsSpan());
    }
}
