namespace Harness.Training;

/// <summary>One epoch of training: losses, accuracies (fractions in [0, 1]), learning rate and seconds.</summary>
public sealed record EpochRecord(int Epoch, double TrainLoss, double TrainAccuracy, double ValidationLoss,
    double ValidationAccuracy, double LearningRate, double Seconds);
