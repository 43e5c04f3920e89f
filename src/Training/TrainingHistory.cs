using Harness.Storage.Files;

namespace Harness.Training;

/// <summary>Per-epoch history, saved as JSON and CSV (atomically) for the curve plots.</summary>
public static class TrainingHistory
{
    public static void Save(string pathWithoutExtension, IReadOnlyList<EpochRecord> history)
    {
        AtomicFile.WriteAllText(pathWithoutExtension + ".json", HarnessJson.Serialize(history));
        CsvTable.Write(pathWithoutExtension + ".csv", ["epoch", "train_loss", "train_acc", "val_loss", "val_acc", "lr", "seconds"],
            history.Select(e => new object?[] { e.Epoch, e.TrainLoss, e.TrainAccuracy, e.ValidationLoss, e.ValidationAccuracy, e.LearningRate, e.Seconds }));
    }

    public static List<EpochRecord> Load(string jsonPath) =>
        HarnessJson.Deserialize<List<EpochRecord>>(File.ReadAllText(jsonPath))
        ?? throw new InvalidDataException($"{jsonPath}: empty history");
}
