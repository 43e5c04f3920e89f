using Harness.Metrics;
using Harness.Storage.Files;
using Harness.Training;

namespace Harness.Cli;

/// <summary>What <c>evaluate</c> and <c>metrics --data</c> write about an evaluation by class: the per-class CSV, the
/// confusion matrix (long-form CSV and PNG heatmap) and one JSON document holding all of it.</summary>
public static class EvaluationReport
{
    public sealed record Files(string PerClass, string Confusion, string Heatmap, string Evaluation);

    public sealed record ClassRow(string Name, long Images, long Correct, double? Accuracy);

    public sealed record Document(string Weights, double Loss, double Accuracy, int Count, IReadOnlyList<ClassRow> Classes,
        long[][] ConfusionMatrix, Files Files);

    /// <summary>Writes the four files of <paramref name="label"/> into <paramref name="dir"/> (created if missing).</summary>
    public static (Document Report, Files Files) Write(string dir, string label, string weights, ClassEvaluation byClass)
    {
        Directory.CreateDirectory(dir);
        var files = new Files(Path.Combine(dir, $"{label}_per_class.csv"), Path.Combine(dir, $"{label}_confusion_matrix.csv"),
            ConfusionPlot.PathFor(dir, label), Path.Combine(dir, $"{label}_evaluation.json"));
        var o = byClass.Overall;
        var report = new Document(weights, o.Loss, o.Accuracy, o.Count,
            byClass.Classes.Select((c, i) => new ClassRow(c, byClass.Images[i], byClass.Correct[i], byClass.PerClassAccuracy[i])).ToList(),
            byClass.Counts, files);
        AtomicFile.WriteAllText(files.PerClass, byClass.PerClassCsv());
        AtomicFile.WriteAllText(files.Confusion, byClass.ConfusionCsv());
        ConfusionPlot.Save(byClass.Classes, byClass.Counts, files.Heatmap, label);
        AtomicFile.WriteAllText(files.Evaluation, HarnessJson.Serialize(report) + "\n");
        return (report, files);
    }

    /// <summary>One line per class: name, accuracy and images.</summary>
    public static void WritePerClass(TextWriter output, ClassEvaluation byClass)
    {
        for (int i = 0; i < byClass.Classes.Count; i++)
            output.WriteLine($"  {byClass.Classes[i],-16} {(byClass.PerClassAccuracy[i] is double a ? $"{100 * a:F2}%" : "–"),8} of {byClass.Images[i]:N0}");
    }
}
