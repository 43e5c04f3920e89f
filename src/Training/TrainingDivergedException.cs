namespace Harness.Training;

/// <summary>The training loss became NaN or infinite: training stopped before that step changed the weights,
/// and the saved state (the last completed epoch) was left as it was.</summary>
public sealed class TrainingDivergedException(string message) : Exception(message);
