using System.Globalization;

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
        long total = counts.Sum(r => r.Sum()), correct = Enumerable.Range(0, n).Sum(i => counts[i][i]);
        string overall = total == 0 ? "no images" : $"accuracy {100.0 * correct / total:F2}% on {total:N0} images";
        var text = counts.Select(r => r.Select(c => c.ToString("N0", CultureInfo.InvariantCulture)).ToArray()).ToArray();
        var shade = counts.Select(r => r.Select(c => r.Sum() == 0 ? 0 : (double)c / r.Sum()).ToArray()).ToArray();
        var summary = counts.Select((r, i) => r.Sum() == 0 ? "–" : $"{100.0 * r[i] / r.Sum():F1}%").ToList();
        HeatmapPlot.Save(new HeatmapPlot.Grid($"{title}: {overall}", "true class", "predicted class", classes, classes, text, shade,
            HeatmapPlot.Palette.Blues, "accuracy", summary), path);
    }
}
