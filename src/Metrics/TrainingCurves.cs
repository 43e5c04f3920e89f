namespace Harness.Metrics;

/// <summary>Per-epoch loss and accuracy of training and validation, the input of the training/validation plot.
/// Accuracies are fractions in [0, 1].</summary>
public sealed record TrainingCurves(
    IReadOnlyList<int> Epochs,
    IReadOnlyList<double> TrainLoss,
    IReadOnlyList<double> ValidationLoss,
    IReadOnlyList<double> TrainAccuracy,
    IReadOnlyList<double> ValidationAccuracy)
{
    /// <summary>Validation loss and accuracy before the first epoch (a pruned model right after pruning), drawn as
    /// epoch 0; null when not measured.</summary>
    public (double Loss, double Accuracy)? Initial { get; init; }

    /// <summary>The unpruned base model's validation accuracy, drawn as a reference line; null for none.</summary>
    public double? BaseAccuracy { get; init; }

    /// <summary>Accuracy of guessing (1 / classes), drawn as a line; null for none.</summary>
    public double? ChanceAccuracy { get; init; }

    /// <summary>Checks that every series has one value per epoch.</summary>
    public void Validate()
    {
        int n = Epochs.Count;
        if (n == 0)
            throw new ArgumentException("training curves need at least one epoch", nameof(Epochs));
        if (TrainLoss.Count != n || ValidationLoss.Count != n || TrainAccuracy.Count != n ||
            ValidationAccuracy.Count != n)
            throw new ArgumentException(
                $"training curves need one value per epoch ({n}); got train loss {TrainLoss.Count}, validation " +
                $"loss {ValidationLoss.Count}, train accuracy {TrainAccuracy.Count}, validation accuracy " +
                $"{ValidationAccuracy.Count}");
    }
}
