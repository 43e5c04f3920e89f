namespace Harness.Training;

/// <summary>Where a run keeps its files: the best model, and a folder with the resumable state and history.</summary>
public sealed record TrainingRun(string Name, string BestModelPath, string StateFolder)
{
    public string ModelStatePath => Path.Combine(StateFolder, "last_model.pth");
    public string OptimizerStatePath => Path.Combine(StateFolder, "last_optimizer.pth");
    public string ProgressPath => Path.Combine(StateFolder, "last_state.json");
    public string HistoryBase => Path.Combine(StateFolder, "history");

    public static TrainingRun For(string name, string outputFolder) =>
        new(name, Path.Combine(outputFolder, "models", name + ".pth"), Path.Combine(outputFolder, "runs", name));
}
