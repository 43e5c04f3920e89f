namespace Harness.Training;

/// <summary>How far a run got: epochs completed, the best validation accuracy so far and the epoch (1-based) whose
/// model is the best one, and the history of every completed epoch.</summary>
internal sealed record TrainingProgress(int CompletedEpochs, double BestValidationAccuracy, int BestEpoch, IReadOnlyList<EpochRecord> History)
{
    public static TrainingProgress Start { get; } = new(0, double.NegativeInfinity, 0, []);
}
