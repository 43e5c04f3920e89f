using Harness.Storage.Files;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Harness.Experiments;

/// <summary>
/// What a study or sweep in an output folder is: the command (<c>study</c> or <c>sweep</c>), the working directory
/// its relative paths start from, and its effective configuration. Written as <c>harness-run.json</c> by every run
/// and by <c>slurm submit</c>, so that <c>report --out DIR</c> rebuilds the folder's report, and job scripts run its
/// experiments, from the folder alone.
/// </summary>
public sealed record RunRecord(string Command, string WorkingDirectory, StudyConfig Config)
{
    public const string FileName = "harness-run.json";

    public static string PathIn(string folder) => System.IO.Path.Combine(folder, FileName);

    /// <summary>A record of <paramref name="config"/> made from the current directory.</summary>
    public static RunRecord Of(string command, StudyConfig config) =>
        command is "study" or "sweep"
            ? new RunRecord(command, Directory.GetCurrentDirectory(), config)
            : throw new ArgumentException($"a run record is of 'study' or 'sweep', not '{command}'");

    /// <summary>Records a run of <paramref name="command"/> in its output folder, unless the folder's record is a sweep
    /// with this very configuration: a sweep's points run one by one as <c>study --only</c> (Slurm array tasks) keep
    /// the folder a sweep, so that its report still writes sweep.csv.</summary>
    public static void Record(string command, StudyConfig config)
    {
        if (command == "study" && File.Exists(PathIn(config.Output)))
        {
            try
            {
                if (Load(config.Output) is { Command: "sweep" } prior && prior.Config.ToJson() == config.ToJson()) return;
            }
            catch (InvalidDataException)
            {
                // Not a record: replaced below.
            }
        }
        Of(command, config).Save();
    }

    public void Save()
    {
        var node = new JsonObject
        {
            ["command"] = Command,
            ["workingDirectory"] = WorkingDirectory,
            ["config"] = JsonNode.Parse(Config.ToJson()),
        };
        AtomicFile.WriteAllText(PathIn(Config.Output), node.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
    }

    /// <summary>Reads <c>DIR/harness-run.json</c>; one line naming the file and what was expected when it is missing or
    /// not a record.</summary>
    public static RunRecord Load(string folder)
    {
        string path = PathIn(folder);
        if (!File.Exists(path))
            throw new FileNotFoundException($"--out '{folder}': no {FileName} there (expected the output folder of a study or sweep run, or of 'slurm submit')", path);
        try
        {
            var node = JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new JsonException("not a JSON object");
            string command = node["command"]?.GetValue<string>() ?? throw new JsonException("no command");
            string dir = node["workingDirectory"]?.GetValue<string>() ?? throw new JsonException("no workingDirectory");
            var config = node["config"]?.Deserialize<StudyConfig>(StudyConfig.JsonOptions) ?? throw new JsonException("no config");
            return Of(command, config) with { WorkingDirectory = dir };
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or ArgumentException or FormatException)
        {
            throw new InvalidDataException($"{path}: not a Harness run record ({ex.Message})", ex);
        }
    }
}
