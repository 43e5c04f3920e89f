using Harness.Storage.Files;

namespace Harness.Training;

/// <summary>
/// An evaluation broken down by class: the confusion matrix (<see cref="Counts"/>[true][predicted], torchmetrics'
/// and scikit-learn's orientation), each class's accuracy (recall: correct / images of that class; null for a class
/// without images) and the overall figures.
/// </summary>
public sealed record ClassEvaluation(Evaluation Overall, IReadOnlyList<string> Classes, long[][] Counts)
{
    public long[] Images => Counts.Select(r => r.Sum()).ToArray();

    public long[] Correct => Counts.Select((r, i) => r[i]).ToArray();

    public double?[] PerClassAccuracy => Counts.Select((r, i) => r.Sum() == 0 ? (double?)null : (double)r[i] / r.Sum()).ToArray();

    /// <summary>Per class: name, images, correct, accuracy (<see cref="CsvTable"/>).</summary>
    public string PerClassCsv() => CsvTable.Format(["class", "images", "correct", "accuracy"],
        Classes.Select((c, i) => (IReadOnlyList<object?>)new object?[] { c, Images[i], Correct[i], PerClassAccuracy[i] }));

    /// <summary>The confusion matrix in long form: one row per (true, predicted) pair, zeros included.</summary>
    public string ConfusionCsv() => CsvTable.Format(["true_class", "predicted_class", "count"],
        Classes.SelectMany((t, i) => Classes.Select((p, j) => (IReadOnlyList<object?>)new object?[] { t, p, Counts[i][j] })));
}
