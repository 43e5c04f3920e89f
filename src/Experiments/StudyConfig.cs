using System.Text.Json;
using System.Text.Json.Serialization;

namespace Harness.Experiments;

/// <summary>
/// The study as a small configuration file (JSON); the defaults are the study's settings. Command-line options
/// override single values.
/// </summary>
public sealed record StudyConfig
{
    public string Data { get; init; } = "data";
    public string Weights { get; init; } = "imagenet";
    public string Device { get; init; } = "auto";
    public string Output { get; init; } = ".";
    public int ImageSize { get; init; } = 224;
    public int BatchSize { get; init; } = 128;
    public ulong Seed { get; init; } = 42;
    public int? TrainSubset { get; init; }
    public int? ValSubset { get; init; }
    public int? TestSubset { get; init; }
    /// <summary>Initial SGD learning rate of every experiment (the study's 0.01; StepLR then multiplies it by 0.1
    /// every 5 epochs).</summary>
    public double LearningRate { get; init; } = 0.01;
    public int BaseEpochs { get; init; } = 10;
    public int FineGrainedEpochs { get; init; } = 3;
    public int ChannelEpochs { get; init; } = 20;
    public double[] FineGrainedAmounts { get; init; } = [0.2, 0.5];
    public double[] ChannelRatios { get; init; } = [0.2, 0.8];
    public int RoundTo { get; init; } = 8;
    public int[] FrozenStages { get; init; } = [0, 1, 2];
    public int LatencyRuns { get; init; } = 100;
    /// <summary>An existing base model (checkpoint path). When set, the base experiment evaluates and measures this
    /// model instead of training one, and the pruning experiments start from it; the file is never written.</summary>
    public string? BaseModel { get; init; }
    /// <summary>Channel pruning keeps round_to channels in a group that Torch-Pruning's rule would leave untouched
    /// (see ChannelPruningOptions.NeverUntouched); off by default, as in the study.</summary>
    public bool NeverUntouched { get; init; }

    public static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    };

    public static StudyConfig Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"--config '{path}': no such file", path);
        try
        {
            return JsonSerializer.Deserialize<StudyConfig>(File.ReadAllText(path), JsonOptions)
                   ?? throw new InvalidDataException($"{path}: empty study configuration");
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"{path}: not a valid study configuration ({ex.Message})", ex);
        }
    }

    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    /// <summary>The study's experiments in order: base, fine-grained, channel.</summary>
    public IReadOnlyList<ExperimentSpec> Experiments() =>
    [
        new(ExperimentSpec.BaseName, ExperimentKind.Base, 0, BaseModel is null ? BaseEpochs : 0),
        .. FineGrainedAmounts.Select(a => new ExperimentSpec($"fine_grained_prune_{Fmt(a)}", ExperimentKind.FineGrained, a, FineGrainedEpochs)),
        .. ChannelRatios.Select(r => new ExperimentSpec($"channel_pruning_{Fmt(r)}", ExperimentKind.Channel, r, ChannelEpochs)),
    ];

    private static string Fmt(double v) => v.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
