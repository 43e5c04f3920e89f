namespace Harness.Training;

/// <summary>The outcome of a run: its history, the best validation accuracy and whether it was interrupted.</summary>
public sealed record TrainingResult(IReadOnlyList<EpochRecord> History, double BestValidationAccuracy, bool Interrupted);
