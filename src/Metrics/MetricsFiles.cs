using Harness.Storage.Files;
using System.Text.Json;

namespace Harness.Metrics;

/// <summary>JSON and CSV forms of <see cref="ModelMetrics"/>, written atomically.</summary>
public static class MetricsFiles
{
    public static string ToJson<T>(T value) => HarnessJson.Serialize(value);

    public static IReadOnlyList<ModelMetrics> ReadJson(string path)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"metrics file '{path}' does not exist", path);
        try
        {
            return HarnessJson.Deserialize<List<ModelMetrics>>(File.ReadAllText(path))
                ?? throw new InvalidDataException($"metrics file '{path}' holds null, expected a list of models");
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"metrics file '{path}' is not a JSON list of model metrics: {ex.Message}", ex);
        }
    }

    public static void WriteJson(string path, IReadOnlyList<ModelMetrics> models) =>
        AtomicFile.WriteAllText(path, ToJson(models) + "\n");

    /// <summary>One row per model, the columns of <see cref="MetricColumns.Csv"/>.</summary>
    public static string ToCsv(IReadOnlyList<ModelMetrics> models)
    {
        var columns = MetricColumns.Csv;
        return CsvTable.Format(columns.Select(c => c.Key).ToList(),
            models.Select(m => (IReadOnlyList<object?>)columns.Select(c => c.Csv!(m)).ToList()));
    }

    public static void WriteCsv(string path, IReadOnlyList<ModelMetrics> models) =>
        AtomicFile.WriteAllText(path, ToCsv(models));
}
