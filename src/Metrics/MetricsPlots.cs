using Harness.Storage.Files;
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
        // The caption (what was measured on what) one clause per line, so that a narrow table stays narrow.
        string[] captionLines = table.Caption.Length == 0 ? [] : table.Caption.Split(" · ");
        const float captionLine = 19;
        float titleHeight = (title is null ? 0 : 36) + (captionLines.Length == 0 ? 0 : captionLine * captionLines.Length + 6);

        int columns = table.Headers.Count;
        var widths = new float[columns];
        for (int c = 0; c < columns; c++)
        {
            widths[c] = bold.MeasureText(table.Headers[c]) + 2 * padX;
            foreach (var row in table.Rows)
                widths[c] = Math.Max(widths[c], font.MeasureText(row[c]) + 2 * padX);
        }
        using (var captionFont = new SKFont(typeface, 13))
            foreach (var l in captionLines)
                widths[^1] = Math.Max(widths[^1], captionFont.MeasureText(l) - widths.Sum() + widths[^1]);
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
        if (captionLines.Length > 0)
        {
            using var note = new SKPaint { Color = new SKColor(0x44, 0x4C, 0x56), IsAntialias = true };
            using var small = new SKFont(typeface, 13);
            for (int i = 0; i < captionLines.Length; i++)
                canvas.DrawText(captionLines[i], margin, margin + (title is null ? 16 : 52) + captionLine * i, SKTextAlign.Left, small, note);
        }
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

    /// <summary>Two panels side by side: loss and accuracy per epoch, training against validation. A pruned model's
    /// validation curves start at epoch 0, right after pruning (<see cref="TrainingCurves.Initial"/>); the accuracy
    /// panel shows the base model's accuracy and chance as labelled lines; the loss axis is logarithmic when the
    /// losses span more than a factor of 20, so one early spike does not flatten the rest.</summary>
    public static void SaveTrainingCurves(TrainingCurves curves, string path, string? title = null)
    {
        curves.Validate();
        double[] epochs = curves.Epochs.Select(e => (double)e).ToArray();
        double[] valEpochs = curves.Initial is null ? epochs : [0, .. epochs];
        var valLoss = curves.Initial is { } i0 ? [i0.Loss, .. curves.ValidationLoss] : curves.ValidationLoss.ToList();
        var valAcc = curves.Initial is { } i1 ? [i1.Accuracy, .. curves.ValidationAccuracy] : curves.ValidationAccuracy.ToList();

        var loss = new Plot();
        bool log = LossNeedsLogScale(curves.TrainLoss.Concat(valLoss));
        Func<double, double> y = log ? Math.Log10 : v => v;
        AddSeries(loss, epochs, curves.TrainLoss.Select(y).ToList(), "train", Colors.C0);
        AddSeries(loss, valEpochs, valLoss.Select(y).ToList(), curves.Initial is null ? "validation" : "validation (epoch 0: after pruning)", Colors.C1);
        loss.Title(title is null ? "Loss" : $"{title}: loss");
        loss.XLabel("epoch");
        loss.YLabel(log ? "cross-entropy loss (log scale)" : "cross-entropy loss");
        if (log)
        {
            var ticks = new ScottPlot.TickGenerators.NumericAutomatic
            {
                IntegerTicksOnly = true, // decades: 0.1, 1, 10, 100
                LabelFormatter = v => Math.Pow(10, v).ToString(Math.Pow(10, v) < 1 ? "0.##" : "0.#", System.Globalization.CultureInfo.InvariantCulture),
                MinorTickGenerator = new ScottPlot.TickGenerators.LogMinorTickGenerator(),
            };
            loss.Axes.Left.TickGenerator = ticks;
        }
        loss.ShowLegend(Alignment.UpperRight);
        loss.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };

        var accuracy = new Plot();
        AddSeries(accuracy, epochs, curves.TrainAccuracy.Select(a => 100 * a).ToList(), "train", Colors.C0);
        AddSeries(accuracy, valEpochs, valAcc.Select(a => 100 * a).ToList(), curves.Initial is null ? "validation" : "validation (epoch 0: after pruning)", Colors.C1);
        double top = 100 * curves.TrainAccuracy.Concat(valAcc).Append(curves.BaseAccuracy ?? 0).Where(double.IsFinite).DefaultIfEmpty(1).Max();
        if (curves.BaseAccuracy is double b)
            ReferenceLine(accuracy, valEpochs.Min(), 100 * b, $"base model {100 * b:F1}%", Colors.Black, LinePattern.Dashed);
        if (curves.ChanceAccuracy is double c)
            ReferenceLine(accuracy, valEpochs.Min(), 100 * c, $"chance {100 * c:F0}%", Colors.Gray, LinePattern.Dotted);
        accuracy.Title(title is null ? "Accuracy" : $"{title}: accuracy");
        accuracy.XLabel("epoch");
        accuracy.YLabel("top-1 accuracy (%)");
        accuracy.ShowLegend(Alignment.LowerRight);
        accuracy.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };
        double bottom = Math.Min(100 * (curves.ChanceAccuracy ?? 1), 100 * curves.TrainAccuracy.Concat(valAcc).Where(double.IsFinite).DefaultIfEmpty(0).Min());
        accuracy.Axes.SetLimitsY(Math.Max(0, bottom - 8), Math.Min(105, top + 8));
        double first = valEpochs.Min(), last = epochs.Max();
        foreach (var p in new[] { loss, accuracy })
            p.Axes.SetLimitsX(first - 0.3, last + Math.Max(0.3, 0.06 * (last - first)));

        SavePanels(path, loss, accuracy);
    }

    /// <summary>True when positive losses span more than a factor of 20: the loss panel then uses a log scale.</summary>
    public static bool LossNeedsLogScale(IEnumerable<double> losses)
    {
        var finite = losses.Where(v => double.IsFinite(v) && v > 0).ToList();
        return finite.Count > 1 && finite.Max() / finite.Min() > 20;
    }

    /// <summary>A horizontal line across the panel with its label at the left end, just above it.</summary>
    private static void ReferenceLine(Plot plot, double left, double y, string label, Color color, LinePattern pattern)
    {
        var line = plot.Add.HorizontalLine(y, 1.5f, color, pattern);
        line.LegendText = "";
        var text = plot.Add.Text(label, left, y);
        text.LabelFontSize = 11;
        text.LabelFontColor = color;
        text.LabelAlignment = Alignment.LowerLeft;
        text.LabelOffsetX = -4;
        text.LabelOffsetY = -3;
    }

    /// <summary>Two panels: test accuracy against effective FLOPs (2 × MACs under <paramref name="convention"/>, zero
    /// weights skipped, which equals the dense count for unpruned models; MFLOPs or GFLOPs by magnitude) and against
    /// size in MB (the sparse checkpoint where one was measured, else the state-dict file), one labelled point per
    /// model that has a test accuracy; where a model was quantized, its int8 file on the size panel (open circle,
    /// dashed to the float point). Labels are placed where they overlap no marker, no other label and stay inside
    /// the frame.</summary>
    public static void SaveComparison(IReadOnlyList<ModelMetrics> models, string path,
        MacConvention convention = MacConvention.Thop)
    {
        var evaluated = models.Where(m => m.TestAccuracy is not null).ToList();
        if (evaluated.Count == 0)
            throw new ArgumentException(
                "the comparison chart needs at least one model with a test accuracy; none was evaluated",
                nameof(models));
        var unit = MetricsTable.UnitFor(evaluated.Max(m => 2.0 * m.EffectiveMacs(convention)));
        var flops = new Plot();
        var size = new Plot();
        var points = evaluated.Select((m, i) => (Label: m.Name, Color: Colors.Category10[i % Colors.Category10.Length],
            Flops: 2 * m.EffectiveMacs(convention) / unit.Divisor, Size: m.SparseSizeMB ?? m.SizeMB, Acc: 100 * m.TestAccuracy!.Value)).ToList();
        // The int8 deployment of a model (where measured) on the size panel: an open marker of the model's colour at
        // the int8 file's size and accuracy, joined to the float point by a dashed segment.
        var int8 = evaluated.Select((m, i) => (Index: i, m.Int8)).Where(q => q.Int8?.TestAccuracy is not null)
            .Select(q => (q.Index, Size: q.Int8!.SizeMB, Acc: 100 * q.Int8.TestAccuracy!.Value)).ToList();
        foreach (var (plot, xOf) in new[] { (flops, (Func<int, double>)(i => points[i].Flops)), (size, i => points[i].Size) })
        {
            for (int i = 0; i < points.Count; i++)
            {
                var marker = plot.Add.Marker(xOf(i), points[i].Acc, MarkerShape.FilledCircle, 10, points[i].Color);
                marker.LegendText = "";
            }
            var xs = points.Select((_, i) => xOf(i)).ToList();
            var ys = points.Select(p => p.Acc).ToList();
            if (ReferenceEquals(plot, size))
                foreach (var (i, x, y) in int8)
                {
                    var line = plot.Add.Line(points[i].Size, points[i].Acc, x, y);
                    line.LineColor = points[i].Color.WithAlpha(0.6);
                    line.LinePattern = LinePattern.Dashed;
                    line.LegendText = "";
                    var marker = plot.Add.Marker(x, y, MarkerShape.OpenCircle, 10, points[i].Color);
                    marker.LegendText = "";
                    xs.Add(x);
                    ys.Add(y);
                }
            FitLimits(plot, xs, ys);
        }
        LabelAccuracyPanels(flops, size, convention, unit.Prefix);
        if (int8.Count > 0) size.XLabel("size MB (sparse if measured; open circle: int8 ONNX file)");
        PlaceLabels(flops, points.Select(p => (p.Flops, p.Acc, p.Label, p.Color, 13f)).ToList(), []);
        PlaceLabels(size, points.Select(p => (p.Size, p.Acc, p.Label, p.Color, 13f))
            .Concat(int8.Select(q => (q.Size, q.Acc, "int8", points[q.Index].Color, 11f))).ToList(),
            int8.Select(q => (points[q.Index].Size, points[q.Index].Acc, q.Size, q.Acc)).ToList());
        SavePanels(path, flops, size);
    }

    /// <summary>A sweep on one image, two panels: test accuracy against effective FLOPs and against size (the sparse
    /// checkpoint where measured), one line per method through its points in ratio order from the base model (ratio
    /// 0, drawn once as a black star labelled "base"), each other point labelled with its ratio where the label
    /// overlaps no line, marker or label and stays inside the frame. Where the points were quantized, the size panel
    /// also draws their int8 ONNX files: a dashed line of open circles per method and an open diamond for the base
    /// model. The legend takes the corner the fewest markers and lines cross. Points without a test accuracy are left out.</summary>
    public static void SaveSweep(IReadOnlyList<(string Label, IReadOnlyList<(double Ratio, ModelMetrics Metrics)> Points)> series,
        string path, MacConvention convention = MacConvention.Thop)
    {
        if (series.All(s => s.Points.All(p => p.Metrics.TestAccuracy is null)))
            throw new ArgumentException("the sweep chart needs at least one point with a test accuracy", nameof(series));
        var all = series.SelectMany(s => s.Points).Where(p => p.Metrics.TestAccuracy is not null).ToList();
        var unit = MetricsTable.UnitFor(all.Max(p => 2.0 * p.Metrics.EffectiveMacs(convention)));
        var flops = new Plot();
        var size = new Plot();
        foreach (var (plot, xOf) in new[]
                 {
                     (flops, (Func<ModelMetrics, double>)(m => 2 * m.EffectiveMacs(convention) / unit.Divisor)),
                     (size, m => m.SparseSizeMB ?? m.SizeMB),
                 })
        {
            var labels = new List<(double X, double Y, string Text, Color Color, float Size)>();
            var segments = new List<(double X0, double Y0, double X1, double Y1)>();
            var extraX = new List<double>();
            var extraY = new List<double>();
            for (int i = 0; i < series.Count; i++)
            {
                var color = Colors.Category10[i % Colors.Category10.Length];
                var points = series[i].Points.Where(p => p.Metrics.TestAccuracy is not null).OrderBy(p => p.Ratio).ToList();
                double[] xs = points.Select(p => xOf(p.Metrics)).ToArray();
                double[] acc = points.Select(p => 100 * p.Metrics.TestAccuracy!.Value).ToArray();
                AddSeries(plot, xs, acc, series[i].Label, color);
                for (int j = 0; j < points.Count; j++)
                {
                    if (j > 0) segments.Add((xs[j - 1], acc[j - 1], xs[j], acc[j]));
                    if (points[j].Ratio > 0)
                        labels.Add((xs[j], acc[j], points[j].Ratio.ToString("0.##", System.Globalization.CultureInfo.InvariantCulture), color, 11f));
                }
                // The int8 files of the method's points (where quantized) on the size panel: a dashed line of the same colour.
                var quantized = points.Where(p => p.Ratio > 0 && p.Metrics.Int8?.TestAccuracy is not null).ToList();
                if (ReferenceEquals(plot, size) && quantized.Count > 0)
                {
                    double[] qx = quantized.Select(p => p.Metrics.Int8!.SizeMB).ToArray();
                    double[] qy = quantized.Select(p => 100 * p.Metrics.Int8!.TestAccuracy!.Value).ToArray();
                    var line = plot.Add.Scatter(qx, qy, color);
                    line.LegendText = "";
                    line.MarkerShape = MarkerShape.OpenCircle;
                    line.MarkerSize = 7;
                    line.LineWidth = 1.5f;
                    line.LinePattern = LinePattern.Dashed;
                    for (int j = 1; j < qx.Length; j++) segments.Add((qx[j - 1], qy[j - 1], qx[j], qy[j]));
                    for (int j = 0; j < qx.Length; j++)
                        labels.Add((qx[j], qy[j], quantized[j].Ratio.ToString("0.##", System.Globalization.CultureInfo.InvariantCulture), color, 10f));
                    extraX.AddRange(qx);
                    extraY.AddRange(qy);
                }
            }
            var baseline = all.Where(p => p.Ratio == 0).Select(p => p.Metrics).FirstOrDefault();
            if (baseline is not null)
            {
                var star = plot.Add.Marker(xOf(baseline), 100 * baseline.TestAccuracy!.Value, MarkerShape.FilledDiamond, 13, Colors.Black);
                star.LegendText = "base model (ratio 0)";
                labels.Insert(0, (xOf(baseline), 100 * baseline.TestAccuracy!.Value, "base", Colors.Black, 12f));
                if (ReferenceEquals(plot, size) && baseline.Int8?.TestAccuracy is double baseInt8)
                {
                    var open = plot.Add.Marker(baseline.Int8.SizeMB, 100 * baseInt8, MarkerShape.OpenDiamond, 13, Colors.Black);
                    open.LegendText = "";
                    labels.Add((baseline.Int8.SizeMB, 100 * baseInt8, "base int8", Colors.Black, 11f));
                    extraX.Add(baseline.Int8.SizeMB);
                    extraY.Add(100 * baseInt8);
                }
            }
            FitLimits(plot, all.Select(p => xOf(p.Metrics)).Concat(extraX).ToList(), all.Select(p => 100 * p.Metrics.TestAccuracy!.Value).Concat(extraY).ToList());
            // Accuracy rises with FLOPs and size, so the upper left is usually empty — not where int8 files (small, as
            // accurate) sit: the legend takes the corner that the fewest markers and lines cross.
            var drawn = all.Select(p => (xOf(p.Metrics), 100 * p.Metrics.TestAccuracy!.Value)).Concat(extraX.Zip(extraY)).ToList();
            plot.ShowLegend(EmptiestCorner(plot, drawn, segments));
            LabelAccuracyPanels(flops, size, convention, unit.Prefix);
            PlaceLabels(plot, labels, segments);
        }
        if (series.Any(x => x.Points.Any(p => p.Ratio > 0 && p.Metrics.Int8?.TestAccuracy is not null)))
            size.XLabel("size MB (sparse if measured; open markers: int8 ONNX)");
        SavePanels(path, flops, size);
    }

    /// <summary>The corner of the data area (a box of 45% of its width and height) that the fewest of
    /// <paramref name="points"/> and of the sampled <paramref name="segments"/> fall in; the upper left on a tie.</summary>
    private static Alignment EmptiestCorner(Plot plot, IReadOnlyList<(double X, double Y)> points,
        IReadOnlyList<(double X0, double Y0, double X1, double Y1)> segments)
    {
        var limits = plot.Axes.GetLimits();
        var samples = points.Concat(segments.SelectMany(s => Enumerable.Range(0, 21)
            .Select(k => (s.X0 + (s.X1 - s.X0) * k / 20.0, s.Y0 + (s.Y1 - s.Y0) * k / 20.0)))).ToList();
        int Count(bool left, bool upper) => samples.Count(p =>
        {
            double u = (p.Item1 - limits.Left) / (limits.Right - limits.Left), v = (p.Item2 - limits.Bottom) / (limits.Top - limits.Bottom);
            return (left ? u <= 0.45 : u >= 0.55) && (upper ? v >= 0.55 : v <= 0.45);
        });
        return new[] { (Alignment.UpperLeft, true, true), (Alignment.UpperRight, false, true), (Alignment.LowerRight, false, false), (Alignment.LowerLeft, true, false) }
            .OrderBy(c => Count(c.Item2, c.Item3)).First().Item1;
    }

    private static void LabelAccuracyPanels(Plot flops, Plot size, MacConvention convention, string prefix)
    {
        flops.Title($"Accuracy vs FLOPs ({MetricsTable.Label(convention)})");
        flops.XLabel($"effective {prefix}FLOPs (2 × MACs, zero weights skipped)");
        flops.YLabel("test accuracy (%)");
        size.Title("Accuracy vs size");
        size.XLabel("size MB (sparse checkpoint if measured)");
        size.YLabel("test accuracy (%)");
    }

    /// <summary>Axis limits around the points with room for labels on every side (nothing at the frame's edge).</summary>
    private static void FitLimits(Plot plot, IReadOnlyList<double> xs, IReadOnlyList<double> ys)
    {
        static (double Lo, double Hi) Span(IReadOnlyList<double> v, double share, double minimum)
        {
            double lo = v.Min(), hi = v.Max(), width = Math.Max(hi - lo, minimum);
            return (lo - share * width, hi + share * width);
        }
        var (x0, x1) = Span(xs, 0.18, Math.Max(1e-9, 0.1 * Math.Abs(xs.Max())));
        var (y0, y1) = Span(ys, 0.22, 2);
        plot.Axes.SetLimits(Math.Max(x0, xs.Min() >= 0 ? -0.05 * (x1 - x0) : double.NegativeInfinity), x1, y0, y1);
    }

    /// <summary>Places each label beside its point at the first of several positions (right/left, above/below, then
    /// farther out) that overlaps nothing already placed, no marker, no line segment and stays inside the data area;
    /// with none free, the position of least overlap. Works in pixels of a first render of the panel.</summary>
    private static void PlaceLabels(Plot plot, IReadOnlyList<(double X, double Y, string Text, Color Color, float Size)> labels,
        IReadOnlyList<(double X0, double Y0, double X1, double Y1)> segments)
    {
        plot.GetImageBytes(PanelWidth, PanelHeight, ImageFormat.Png); // lays the panel out; the limits are fixed
        var area = plot.LastRender.DataRect;
        var frame = new SKRect(area.Left + 2, area.Top + 2, area.Right - 2, area.Bottom - 2);
        var taken = new List<SKRect>();
        foreach (var (x, y, _, _, _) in labels)
        {
            var p = plot.GetPixel(new Coordinates(x, y));
            taken.Add(new SKRect(p.X - 6, p.Y - 6, p.X + 6, p.Y + 6));
        }
        foreach (var (x0, y0, x1, y1) in segments)
        {
            var a = plot.GetPixel(new Coordinates(x0, y0));
            var b = plot.GetPixel(new Coordinates(x1, y1));
            int steps = (int)Math.Max(1, Math.Sqrt((b.X - a.X) * (b.X - a.X) + (b.Y - a.Y) * (b.Y - a.Y)) / 4);
            for (int k = 0; k <= steps; k++)
            {
                float px = a.X + (b.X - a.X) * k / steps, py = a.Y + (b.Y - a.Y) * k / steps;
                taken.Add(new SKRect(px - 2, py - 2, px + 2, py + 2));
            }
        }
        using var typeface = SKTypeface.FromFamilyName("DejaVu Sans") ?? SKTypeface.Default;
        foreach (var (x, y, text, color, size) in labels)
        {
            var p = plot.GetPixel(new Coordinates(x, y));
            using var font = new SKFont(typeface, size * 1.1f);
            float w = font.MeasureText(text) + 4, h = size * 1.35f;
            SKRect best = default;
            (float Dx, float Dy, Alignment Align) choice = default;
            double bestScore = double.PositiveInfinity;
            foreach (float d in new[] { 7f, 16f, 28f })
                foreach (var (dx, dy, align, box) in new (float, float, Alignment, SKRect)[]
                         {
                             (d, -d, Alignment.LowerLeft, new SKRect(p.X + d, p.Y - d - h, p.X + d + w, p.Y - d)),
                             (d, d, Alignment.UpperLeft, new SKRect(p.X + d, p.Y + d, p.X + d + w, p.Y + d + h)),
                             (-d, -d, Alignment.LowerRight, new SKRect(p.X - d - w, p.Y - d - h, p.X - d, p.Y - d)),
                             (-d, d, Alignment.UpperRight, new SKRect(p.X - d - w, p.Y + d, p.X - d, p.Y + d + h)),
                             (0, -d - 2, Alignment.LowerCenter, new SKRect(p.X - w / 2, p.Y - d - 2 - h, p.X + w / 2, p.Y - d - 2)),
                             (0, d + 2, Alignment.UpperCenter, new SKRect(p.X - w / 2, p.Y + d + 2, p.X + w / 2, p.Y + d + 2 + h)),
                         })
                {
                    double score = d; // nearer is better among free places
                    if (!frame.Contains(box)) score += 1e6;
                    foreach (var t in taken)
                        if (SKRect.Intersect(t, box) is { IsEmpty: false } overlap) score += 1e3 + overlap.Width * overlap.Height;
                    if (score < bestScore) (bestScore, best, choice) = (score, box, (dx, dy, align));
                }
            taken.Add(best);
            var label = plot.Add.Text(text, x, y);
            label.LabelFontSize = size;
            label.LabelFontColor = color;
            label.LabelAlignment = choice.Align;
            label.LabelOffsetX = choice.Dx;
            label.LabelOffsetY = choice.Dy;
        }
    }

    private static void AddSeries(Plot plot, double[] xs, IReadOnlyList<double> ys, string label, Color color)
    {
        var scatter = plot.Add.Scatter(xs, ys.ToArray(), color);
        scatter.LegendText = label;
        scatter.MarkerSize = 6;
        scatter.LineWidth = 2;
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
