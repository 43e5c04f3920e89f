using Harness.Storage.Files;
using SkiaSharp;

namespace Harness.Metrics;

/// <summary>
/// A labelled grid of shaded cells: row labels on the left, column labels along the bottom (written upwards), a
/// value in every cell, each shaded by a share in [0, 1] (white 0 → <see cref="Palette"/>'s dark end at 1), an optional
/// right-hand column of row summaries. The confusion matrix and the sensitivity scan are drawn with it.
/// </summary>
public static class HeatmapPlot
{
    public enum Palette { Blues, Reds }

    public sealed record Grid(
        string Title, string RowAxis, string ColumnAxis, IReadOnlyList<string> Rows, IReadOnlyList<string> Columns,
        string[][] Text, double[][] Shade, Palette Colours = Palette.Blues, string? SummaryHeader = null, IReadOnlyList<string>? Summary = null);

    public static void Save(Grid grid, string path)
    {
        int nr = grid.Rows.Count, nc = grid.Columns.Count;
        if (nr == 0 || nc == 0 || grid.Text.Length != nr || grid.Shade.Length != nr || grid.Text.Any(r => r.Length != nc) || grid.Shade.Any(r => r.Length != nc))
            throw new ArgumentException($"a heatmap of {nr} rows and {nc} columns needs {nr}×{nc} texts and shades");
        using var typeface = SKTypeface.FromFamilyName("DejaVu Sans") ?? SKTypeface.Default;
        using var font = new SKFont(typeface, 14);
        using var small = new SKFont(typeface, 12);
        using var bold = new SKFont(SKTypeface.FromFamilyName("DejaVu Sans", SKFontStyle.Bold) ?? typeface, 15);
        const float margin = 18, gap = 10, titleHeight = 40, axisTitle = 24;
        float cellW = Math.Max(54, grid.Text.SelectMany(r => r).Select(t => small.MeasureText(t) + 10).DefaultIfEmpty(0).Max());
        float cellH = nr > 30 ? 22 : 34;
        float labelWidth = grid.Rows.Max(c => font.MeasureText(c)) + gap;
        float summaryWidth = grid.Summary is null ? 0 : Math.Max(font.MeasureText(grid.SummaryHeader ?? ""), grid.Summary.Max(s => font.MeasureText(s))) + 2 * gap;
        float columnLabels = grid.Columns.Max(c => font.MeasureText(c)) + gap;
        float left = margin + axisTitle + labelWidth, top = margin + titleHeight + axisTitle;
        int width = (int)Math.Ceiling(Math.Max(left + nc * cellW + summaryWidth + margin, bold.MeasureText(grid.Title) + 2 * margin));
        int height = (int)Math.Ceiling(top + nr * cellH + columnLabels + axisTitle + margin);

        using var surface = SKSurface.Create(new SKImageInfo(width, height));
        var canvas = surface.Canvas;
        canvas.Clear(SKColors.White);
        using var ink = new SKPaint { Color = SKColors.Black, IsAntialias = true };
        using var light = new SKPaint { Color = SKColors.White, IsAntialias = true };
        using var line = new SKPaint { Color = new SKColor(0xC8, 0xCE, 0xD6), StrokeWidth = 1, IsStroke = true };
        canvas.DrawText(grid.Title, margin, margin + 22, SKTextAlign.Left, bold, ink);
        canvas.DrawText(grid.ColumnAxis, left + nc * cellW / 2, top - 8, SKTextAlign.Center, font, ink);
        if (grid.SummaryHeader is not null)
            canvas.DrawText(grid.SummaryHeader, left + nc * cellW + summaryWidth / 2, top - 8, SKTextAlign.Center, font, ink);
        canvas.Save();
        canvas.RotateDegrees(-90, margin + 16, top + nr * cellH / 2);
        canvas.DrawText(grid.RowAxis, margin + 16, top + nr * cellH / 2, SKTextAlign.Center, font, ink);
        canvas.Restore();
        var cellFont = nr > 30 ? small : font;
        for (int r = 0; r < nr; r++)
        {
            float y = top + r * cellH;
            canvas.DrawText(grid.Rows[r], left - gap, y + cellH / 2 + 5, SKTextAlign.Right, cellFont, ink);
            for (int c = 0; c < nc; c++)
            {
                double share = double.IsFinite(grid.Shade[r][c]) ? Math.Clamp(grid.Shade[r][c], 0, 1) : 0;
                using var fill = new SKPaint { Color = Shade(share, grid.Colours) };
                float x = left + c * cellW;
                canvas.DrawRect(x, y, cellW, cellH, fill);
                canvas.DrawRect(x, y, cellW, cellH, line);
                canvas.DrawText(grid.Text[r][c], x + cellW / 2, y + cellH / 2 + 5, SKTextAlign.Center, cellFont, share > 0.5 ? light : ink);
            }
            if (grid.Summary is not null)
                canvas.DrawText(grid.Summary[r], left + nc * cellW + summaryWidth - gap, y + cellH / 2 + 5, SKTextAlign.Right, cellFont, ink);
        }
        for (int c = 0; c < nc; c++)
        {
            float x = left + c * cellW + cellW / 2 + 5, y = top + nr * cellH + gap;
            canvas.Save();
            canvas.RotateDegrees(-90, x, y);
            canvas.DrawText(grid.Columns[c], x, y, SKTextAlign.Right, font, ink);
            canvas.Restore();
        }
        using var image = surface.Snapshot();
        using var png = image.Encode(SKEncodedImageFormat.Png, 100);
        AtomicFile.WriteAllBytes(path, png.AsSpan());
    }

    /// <summary>White at 0 to a dark blue (matplotlib's Blues) or dark red (Reds) at 1, linearly.</summary>
    private static SKColor Shade(double share, Palette palette)
    {
        static byte Mix(int from, int to, double s) => (byte)Math.Round(from + (to - from) * s);
        return palette == Palette.Blues
            ? new SKColor(Mix(0xF7, 0x08, share), Mix(0xFB, 0x30, share), Mix(0xFF, 0x6B, share))
            : new SKColor(Mix(0xFF, 0x67, share), Mix(0xF5, 0x00, share), Mix(0xF0, 0x0D, share));
    }
}
