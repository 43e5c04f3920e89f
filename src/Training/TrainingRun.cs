namespace Harness.Training;

/// <summary>
/// Where a run keeps its files: the best model, and a folder with the resumable state. The state is one folder per
/// saved epoch (<see cref="GenerationFolder"/>, written as a unit; see <see cref="Trainer"/>), beside copies of the
/// newest history for plots (<see cref="HistoryBase"/>).
/// </summary>
public sealed record TrainingRun(string Name, string BestModelPath, string StateFolder)
{
    /// <summary><c>history.json</c> / <c>history.csv</c> (add the extension): the newest saved history.</summary>
    public string HistoryBase => Path.Combine(StateFolder, "history");

    /// <summary>The folder holding the complete state after <paramref name="completedEpochs"/> epochs.</summary>
    public string GenerationFolder(int completedEpochs) => Path.Combine(StateFolder, $"state-{completedEpochs:D4}");

    public static TrainingRun For(string name, string outputFolder) =>
        new(name, Path.Combine(outputFolder, "models", name + ".pth"), Path.Combine(outputFolder, "runs", name));
}
