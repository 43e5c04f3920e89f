using System.Globalization;
using Harness.Model.Checkpoints;
using SkiaSharp;

namespace Harness.Metrics;

/// <summary>
/// The confusion matrix as a heatmap: rows are the true classes, columns the predicted ones (scikit-learn's
/// <c>ConfusionMatrixDisplay</c> orientation), each cell shaded by its share of the row (white 0 → dark blue 1) and
/// labelled with its count; the right-hand column gives each class's accuracy, the title the overall one.
/// </summary>
public static class ConfusionPlot
{
    /// <summary><c>&lt;dir&gt;/&lt;name&gt;_confusion_matrix.png</c>.</summary>
    public static string PathFor(string dir, string name) => Path.Combine(dir, $"{name}_confusion_matrix.png");

    public static void Save(IReadOnlyList<string> classes, long[][] counts, string path, string title)
    {
        int n = classes.Count;
        if (n == 0 || counts.Length != n || counts.Any(r => r.Length != n))
            throw new ArgumentException($"a confusion matrix of {n} classes needs {n}×{n} counts");
        using var typeface = SKTypeface.FromFamilyName("DejaVu Sans") ?? SKTypeface.Default;
        using var font = new SKFont(typeface, 14);
        using var small = new SKFont(typeface, 12);
        using var bold = new SKFont(SKTypeface.FromFamilyName("DejaVu Sans", SKFontStyle.Bold) ?? typeface, 15);
        const float cell = 54, margin = 18, gap = 10;
        float labelWidth = classes.Max(c => font.MeasureText(c)) + gap;
        float accuracyWidth = font.MeasureText("100.0%") + 2 * gap;
        float columnLabels = labelWidth; // predicted-class names are written upwards, as long as the longest name
        float titleHeight = 40, axisTitle = 24;
        float left = margin + axisTitle + labelWidth, top = margin + titleHeight + axisTitle;
        int width = (int)Math.Ceiling(left + n * cell + accuracyWidth + margin);
        int height = (int)Math.Ceiling(top + n * cell + columnLabels + axisTitle + margin);

        using var surface = SKSurface.Create(new SKImageInfo(width, height));
        var canvas = surface.Canvas;
        canvas.Clear(SKColors.White);
        using var ink = new SKPaint { Color = SKColors.Black, IsAntialias = true };
        using var light = new SKPaint { Color = SKColors.White, IsAntialias = true };
        using var grid = new SKPaint { Color = new SKColor(0xC8, 0xCE, 0xD6), StrokeWidth = 1, IsStroke = true };

        long total = counts.Sum(r => r.Sum()), correct = Enumerable.Range(0, n).Sum(i => counts[i][i]);
        string overall = total == 0 ? "no images" : $"accuracy {100.0 * correct / total:F2}% on {total:N0} images";
        canvas.DrawText($"{title}: {overall}", margin, margin + 22, SKTextAlign.Left, bold, ink);
        canvas.DrawText("predicted class", left + n * cell / 2, top - 8, SKTextAlign.Center, font, ink);
        canvas.DrawText("accuracy", left + n * cell + accuracyWidth / 2, top - 8, SKTextAlign.Center, font, ink);
        canvas.Save();
        canvas.RotateDegrees(-90, margin + 16, top + n * cell / 2);
        canvas.DrawText("true class", margin + 16, top + n * cell / 2, SKTextAlign.Center, font, ink);
        canvas.Restore();

        for (int t = 0; t < n; t++)
        {
            long rowSum = counts[t].Sum();
            float y = top + t * cell;
            canvas.DrawText(classes[t], left - gap, y + cell / 2 + 5, SKTextAlign.Right, font, ink);
            for (int p = 0; p < n; p++)
            {
                double share = rowSum == 0 ? 0 : (double)counts[t][p] / rowSum;
                using var fill = new SKPaint { Color = Shade(share) };
                float x = left + p * cell;
                canvas.DrawRect(x, y, cell, cell, fill);
                canvas.DrawRect(x, y, cell, cell, grid);
                canvas.DrawText(counts[t][p].ToString("N0", CultureInfo.InvariantCulture), x + cell / 2, y + cell / 2 + 5,
                    SKTextAlign.Center, counts[t][p] >= 1000 ? small : font, share > 0.5 ? light : ink);
            }
            string accuracy = rowSum == 0 ? "–" : $"{100.0 * counts[t][t] / rowSum:F1}%";
            canvas.DrawText(accuracy, left + n * cell + accuracyWidth - gap, y + cell / 2 + 5, SKTextAlign.Right, font, ink);
        }
        for (int p = 0; p < n; p++)
        {
            float x = left + p * cell + cell / 2 + 5, y = top + n * cell + gap;
            canvas.Save();
            canvas.RotateDegrees(-90, x, y);
            canvas.DrawText(classes[p], x, y, SKTextAlign.Right, font, ink);
            canvas.Restore();
        }
        using var image = surface.Snapshot();
        using var png = image.Encode(SKEncodedImageFormat.Png, 100);
        AtomicFile.WriteAllBytes(path, png.AsSpan());
    }

    /// <summary>White at 0 to a dark blue at 1 (matplotlib's Blues, linearly).</summary>
    private static SKColor Shade(double share)
    {
        share = Math.Clamp(share, 0, 1);
        static byte Mix(int from, int to, double s) => (byte)Math.Round(from + (to - from) * s);
        return new SKColor(Mix(0xF7, 0x08, share), Mix(0xFB, 0x30, share), Mix(0xFF, 0x6B, share));
    }
}
