namespace Harness.Training;

/// <summary>Mean cross-entropy loss and accuracy (fraction) over <see cref="Count"/> images.</summary>
public sealed record Evaluation(double Loss, double Accuracy, int Count);
