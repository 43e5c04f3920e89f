using System.Globalization;
using System.Text;
using System.Text.Json;
using Harness.Model.Checkpoints;

namespace Harness.Training;

/// <summary>Per-epoch history, saved as JSON and CSV (atomically) for the curve plots.</summary>
public static class TrainingHistory
{
    private static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    public static void Save(string pathWithoutExtension, IReadOnlyList<EpochRecord> history)
    {
        AtomicFile.WriteAllText(pathWithoutExtension + ".json", JsonSerializer.Serialize(history, Options));
        var csv = new StringBuilder("epoch,train_loss,train_acc,val_loss,val_acc,lr,seconds\n");
        foreach (var e in history)
            csv.AppendLine(string.Join(",", new object[] { e.Epoch, e.TrainLoss, e.TrainAccuracy, e.ValidationLoss, e.ValidationAccuracy, e.LearningRate, e.Seconds }
                .Select(v => Convert.ToString(v, CultureInfo.InvariantCulture))));
        AtomicFile.WriteAllText(pathWithoutExtension + ".csv", csv.ToString());
    }

    public static List<EpochRecord> Load(string jsonPath) =>
        JsonSerializer.Deserialize<List<EpochRecord>>(File.ReadAllText(jsonPath), Options)
        ?? throw new InvalidDataException($"{jsonPath}: empty history");
}
