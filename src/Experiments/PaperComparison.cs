using Harness.Metrics;
using System.Globalization;
using System.Text;

namespace Harness.Experiments;

/// <summary>
/// The published figures of the study this harness reproduces ("Deep Learning Model Sparsification for Efficient
/// Inference": torchvision's EfficientNet-B0 pretrained on ImageNet, fine-tuned on CIFAR-10 at 224 px; channel pruning
/// with Torch-Pruning's MetaPruner, L1, round_to 8) and the table that sets a run's results beside them. Sizes and
/// FLOPs differ between networks and image sizes, so the comparable figures are the ratios to each one's base model.
/// </summary>
public static class PaperComparison
{
    /// <summary>A published row: size in MB, MFLOPs and test accuracy in %.</summary>
    public sealed record PaperRow(ExperimentKind Kind, double Amount, double SizeMB, double MFlops, double AccuracyPercent);

    public static IReadOnlyList<PaperRow> Paper { get; } =
    [
        new(ExperimentKind.Base, 0, 16.46, 822.76, 95.97),
        new(ExperimentKind.Channel, 0.2, 10.34, 522.29, 90.33),
        new(ExperimentKind.Channel, 0.8, 0.96, 114.7, 79.38),
    ];

    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>The Markdown table of every experiment of the run (in <paramref name="experiments"/>' order) with the
    /// paper's row of the same kind and amount where the paper has one; null without a finished base model.</summary>
    public static string? Markdown(IReadOnlyList<ExperimentSpec> experiments, IReadOnlyList<ModelMetrics> results)
    {
        var baseSpec = experiments.FirstOrDefault(e => e.Kind == ExperimentKind.Base);
        var baseRun = baseSpec is null ? null : results.FirstOrDefault(r => r.Name == baseSpec.Name);
        if (baseRun is null) return null;
        var paperBase = Paper[0];
        var md = new StringBuilder();
        md.AppendLine("| experiment | size MB | ×base | MFLOPs (thop) | ×base | test acc % | Δ base pp | paper: size MB | ×base | MFLOPs | ×base | test acc % | Δ base pp |");
        md.AppendLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var e in experiments)
        {
            var r = results.FirstOrDefault(m => m.Name == e.Name);
            if (r is null) continue;
            // A fine-grained model's size is its sparse checkpoint's, the size that pruning changes.
            double size = r.SparseSizeMB ?? r.SizeMB, baseSize = baseRun.SparseSizeMB ?? baseRun.SizeMB;
            double flops = r.Flops(MacConvention.Thop) / 1e6, baseFlops = baseRun.Flops(MacConvention.Thop) / 1e6;
            double? acc = r.TestAccuracy * 100, baseAcc = baseRun.TestAccuracy * 100;
            var p = Paper.FirstOrDefault(x => x.Kind == e.Kind && Math.Abs(x.Amount - e.Amount) < 1e-9);
            md.Append($"| {e.Name} | {size.ToString("F2", Inv)} | {Ratio(size, baseSize)} | {flops.ToString("F2", Inv)} | {Ratio(flops, baseFlops)} | ");
            md.Append($"{F(acc)} | {(e.Kind == ExperimentKind.Base ? "" : Delta(acc, baseAcc))} | ");
            md.AppendLine(p is null
                ? "– | – | – | – | – | – |"
                : $"{p.SizeMB.ToString("F2", Inv)} | {Ratio(p.SizeMB, paperBase.SizeMB)} | {p.MFlops.ToString("F2", Inv)} | {Ratio(p.MFlops, paperBase.MFlops)} | " +
                  $"{p.AccuracyPercent.ToString("F2", Inv)} | {(p.Kind == ExperimentKind.Base ? "" : Delta(p.AccuracyPercent, paperBase.AccuracyPercent))} |");
        }
        return md.ToString();
    }

    private static string Ratio(double x, double b) => b > 0 ? (x / b).ToString("F2", Inv) + "×" : "–";

    private static string F(double? v) => v is double d ? d.ToString("F2", Inv) : "–";

    private static string Delta(double? x, double? b) => x is double a && b is double c ? (a - c).ToString("+0.00;−0.00;0.00", Inv) : "–";
}
