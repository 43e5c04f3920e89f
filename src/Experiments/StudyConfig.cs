using Harness.Pruning.Channels;
using Harness.Storage.Files;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Harness.Experiments;

/// <summary>
/// The study as a small configuration file (JSON); the defaults are the study's settings. Command-line options
/// override single values.
/// </summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record StudyConfig
{
    public string Data { get; init; } = "data";
    /// <summary>Initial weights of the base model: none (the default, as every command: it runs offline), imagenet (the
    /// study's torchvision checkpoint) or a path.</summary>
    public string Weights { get; init; } = "none";
    /// <summary>The network of the study (an <c>--arch</c> variant: efficientnet_b0, resnet18, resnet50,
    /// mobilenet_v2); a given base model must be of its family.</summary>
    public string Arch { get; init; } = Harness.Model.ModelLoader.DefaultVariant;

    /// <summary>True when <see cref="Weights"/> is an ONNX model (recognised by content): the study's network is its
    /// import, and <see cref="Arch"/> does not apply.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public bool ImportsOnnx => Harness.Model.Import.PretrainedOnnx.IsName(Weights)
        || Weights is not ("none" or "imagenet") && Harness.Model.Import.OnnxImporter.LooksLikeOnnx(Weights);

    /// <summary>The file behind <see cref="Weights"/> whose SHA-256 the base experiment's manifest records (the ONNX
    /// file of a named pretrained network), or null when there is none (<c>none</c>, <c>imagenet</c>).</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public string? WeightsFile => Harness.Model.Import.PretrainedOnnx.IsName(Weights)
        ? Harness.Model.Import.PretrainedOnnx.RequireModel()
        : File.Exists(Weights) ? Weights : null;

    /// <summary>The name of the study's network in file names and reports: <see cref="Arch"/>, or for an ONNX model its
    /// file name (letters, digits, '-' and '_').</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public string NetworkName => Harness.Model.ModelLoader.NetworkName(Weights, Arch);

    /// <summary>The <c>--arch</c> a loaded network must be of (none for an ONNX model's import).</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public string? LoadArch => ImportsOnnx ? null : Arch;
    public string Device { get; init; } = "auto";
    public string Output { get; init; } = ".";
    public int ImageSize { get; init; } = 224;
    public int BatchSize { get; init; } = 128;
    public ulong Seed { get; init; } = 42;
    public int? TrainSubset { get; init; }
    /// <summary>Training images of the pruned experiments' fine-tuning: the first N of the base's training images
    /// (null: all of them, as the study). Recovering from pruning takes fewer steps than training the base.</summary>
    public int? FineTuneSubset { get; init; }
    public int? ValSubset { get; init; }
    public int? TestSubset { get; init; }
    /// <summary>Initial SGD learning rate of every experiment (the study's 0.01; StepLR then multiplies it by 0.1
    /// every 5 epochs).</summary>
    public double LearningRate { get; init; } = 0.01;
    /// <summary>Initial learning rate of the pruned experiments' fine-tuning (null: <see cref="LearningRate"/>, as the
    /// study); fine-tuning a converged network commonly starts lower than its training did.</summary>
    public double? FineTuneLearningRate { get; init; }
    /// <summary>StepLR's step in epochs (the study's 5).</summary>
    public int LrStepSize { get; init; } = 5;
    /// <summary>StepLR's factor (the study's 0.1).</summary>
    public double LrGamma { get; init; } = 0.1;
    public int BaseEpochs { get; init; } = 10;
    public int FineGrainedEpochs { get; init; } = 3;
    public int ChannelEpochs { get; init; } = 20;
    public double[] FineGrainedAmounts { get; init; } = [0.2, 0.5];
    public double[] ChannelRatios { get; init; } = [0.2, 0.8];
    /// <summary>Network slimming presets: channel pruning by BatchNorm scale at these ratios (pair with <see cref="BnL1"/>
    /// so that the base model is trained with the sparsity term); none by default.</summary>
    public double[] SlimmingRatios { get; init; } = [];
    /// <summary>Channel pruning to MACs budgets: fractions of the base model's thop MACs at the image size, each an
    /// experiment <c>channel_macs_&lt;f&gt;</c> whose ratio is searched under the monotone rule; none by default.</summary>
    public double[] ChannelTargetMacs { get; init; } = [];
    /// <summary>Channel pruning to measured latency targets: fractions of the base model's latency on
    /// <see cref="LatencyRuntime"/> at <see cref="LatencyBatchSize"/> and the image size, each an experiment
    /// <c>channel_latency_&lt;f&gt;_&lt;runtime&gt;_b&lt;batch&gt;</c>; none by default.</summary>
    public double[] ChannelTargetLatency { get; init; } = [];
    /// <summary>The runtime latency targets are measured in: onnx, onnx-int8 or torch.</summary>
    public string LatencyRuntime { get; init; } = "onnx";
    /// <summary>The batch size latency targets are measured at.</summary>
    public int LatencyBatchSize { get; init; } = 1;
    /// <summary>Intra-op threads latency targets are measured with (null: libtorch's count, one per core).</summary>
    public int? LatencyThreads { get; init; }
    /// <summary>The folder of cached latency models (null: <c>$XDG_CACHE_HOME/harness/latency</c>).</summary>
    public string? LatencyCache { get; init; }
    /// <summary>Importance of the channel (and budget) experiments: L1 (the study), L2, BatchNormScale, Random or Taylor
    /// (gradients of <see cref="CalibrationBatches"/> training batches, recomputed before every pruning step).</summary>
    public Harness.Pruning.Channels.IChannelImportance ChannelImportance { get; init; } = ChannelImportances.L1;
    public int CalibrationBatches { get; init; } = 8;
    public int RoundTo { get; init; } = 8;
    public int[] FrozenStages { get; init; } = [0, 1, 2];
    public int LatencyRuns { get; init; } = 100;
    /// <summary>An existing base model (checkpoint path). When set, the base experiment evaluates and measures this
    /// model instead of training one, and the pruning experiments start from it; the file is never written.</summary>
    public string? BaseModel { get; init; }
    /// <summary>Channel pruning keeps round_to channels in a group that Torch-Pruning's rule would leave untouched
    /// (see ChannelPruningOptions.NeverUntouched); off by default, as in the study.</summary>
    public bool NeverUntouched { get; init; }
    /// <summary>Knowledge distillation while fine-tuning the pruned experiments: <c>base</c> (the study's base model)
    /// or a checkpoint path as teacher; null for none (Hinton et al. 2015, see Harness.Training.TrainingObjective).</summary>
    public string? Teacher { get; init; }
    public double KdTemperature { get; init; } = 4.0;
    public double KdAlpha { get; init; } = 0.9;
    /// <summary>Network slimming's λ·Σ|γ| on BatchNorm scales while training the base model (Liu et al. 2017); 0 for none.</summary>
    public double BnL1 { get; init; }
    /// <summary>Iterative pruning: K prune → fine-tune steps per pruned experiment (1: one-shot, the study). Channel
    /// pruning follows Torch-Pruning's linear scheduler (step k prunes to ratio·k/K of the original widths), fine-grained
    /// the automated gradual pruning schedule of Zhu and Gupta 2017 (sparsity s·(1 − (1 − k/K)³)).</summary>
    public int PruningSteps { get; init; } = 1;
    /// <summary>Fine-tuning epochs after each step of an iterative experiment (null: the kind's epochs).</summary>
    public int? EpochsPerStep { get; init; }

    /// <summary>Also deploy every model as int8 (static QDQ quantization, ONNX Runtime) and measure its size, latency
    /// and test accuracy beside the float figures.</summary>
    public bool Int8 { get; init; }

    /// <summary>The int8 calibration method: minmax, percentile or entropy.</summary>
    public string Int8Calibration { get; init; } = "minmax";

    /// <summary>Batches of training images (of <see cref="Harness.Experiments.CalibrationImages.DefaultBatchSize"/>)
    /// the int8 calibration runs.</summary>
    public int Int8CalibrationBatches { get; init; } = CalibrationImages.DefaultBatches;

    /// <summary>The JSON conventions of a study file (<see cref="HarnessJson.Options"/>; unknown members are refused).</summary>
    public static JsonSerializerOptions JsonOptions => HarnessJson.Options;

    /// <summary>Refuses settings that make no sense (from a file or the command line), naming the setting.</summary>
    public void Validate()
    {
        static void Require(bool ok, string message)
        {
            if (!ok) throw new ArgumentException(message);
        }
        Require(Harness.Model.Networks.Architectures.VariantNames.Contains(Arch),
            $"arch (--arch) must be one of {string.Join(", ", Harness.Model.Networks.Architectures.VariantNames)} (got '{Arch}')");
        Require(ImageSize is >= 32 and <= 4096, $"imageSize (--image-size) must lie in 32..4096 (got {ImageSize})");
        Require(BatchSize >= 1, $"batchSize (--batch-size) must be at least 1 (got {BatchSize})");
        Require(TrainSubset is null or >= 1, $"trainSubset (--train-subset) must be at least 1 (got {TrainSubset})");
        Require(FineTuneSubset is null or >= 1, $"fineTuneSubset (--fine-tune-subset) must be at least 1 (got {FineTuneSubset})");
        Require(ValSubset is null or >= 1, $"valSubset (--val-subset) must be at least 1 (got {ValSubset})");
        Require(TestSubset is null or >= 1, $"testSubset (--test-subset) must be at least 1 (got {TestSubset})");
        Require(double.IsFinite(LearningRate) && LearningRate is > 0 and <= 1000, $"learningRate (--lr) must lie in (0, 1000] (got {LearningRate})");
        Require(FineTuneLearningRate is null || double.IsFinite(FineTuneLearningRate.Value) && FineTuneLearningRate is > 0 and <= 1000,
            $"fineTuneLearningRate (--fine-tune-lr) must lie in (0, 1000] (got {FineTuneLearningRate})");
        Require(LrStepSize >= 1, $"lrStepSize (--lr-step) must be at least 1 (got {LrStepSize})");
        Require(double.IsFinite(LrGamma) && LrGamma is > 0 and <= 1, $"lrGamma (--lr-gamma) must lie in (0, 1] (got {LrGamma})");
        Require(BaseEpochs >= 0 && FineGrainedEpochs >= 0 && ChannelEpochs >= 0,
            $"epochs must not be negative (base {BaseEpochs}, fine-grained {FineGrainedEpochs}, channel {ChannelEpochs})");
        Require(FineGrainedAmounts.All(a => a is >= 0 and < 1), $"fineGrainedAmounts must lie in [0, 1) (got {string.Join(", ", FineGrainedAmounts)})");
        Require(ChannelTargetMacs.All(f => f is > 0 and <= 1), $"channelTargetMacs must lie in (0, 1] (got {string.Join(", ", ChannelTargetMacs)})");
        Require(ChannelTargetLatency.All(f => f is > 0 and <= 1), $"channelTargetLatency must lie in (0, 1] (got {string.Join(", ", ChannelTargetLatency)})");
        Require(Latency.LatencyRuntimes.Names.Contains(LatencyRuntime), $"latencyRuntime must be one of {string.Join(", ", Latency.LatencyRuntimes.Names)} (got '{LatencyRuntime}')");
        Require(LatencyBatchSize is >= 1 and <= 4096, $"latencyBatchSize must lie in 1..4096 (got {LatencyBatchSize})");
        Require(LatencyThreads is null or >= 1, $"latencyThreads must be at least 1 (got {LatencyThreads})");
        Require(ChannelTargetLatency.Length == 0 || PruningSteps == 1, $"channelTargetLatency is one-shot: the target gives the widths (pruningSteps {PruningSteps})");
        Require(ChannelTargetLatency.Length == 0 || !ChannelImportance.NeedsGradients, $"channelTargetLatency ranks channels by a criterion without gradients (got {ChannelImportance.Name})");
        Require(CalibrationBatches >= 1, $"calibrationBatches must be at least 1 (got {CalibrationBatches})");
        Require(SlimmingRatios.All(r => r is >= 0 and < 1), $"slimmingRatios must lie in [0, 1) (got {string.Join(", ", SlimmingRatios)})");
        Require(ChannelRatios.All(r => r is >= 0 and < 1), $"channelRatios must lie in [0, 1) (got {string.Join(", ", ChannelRatios)})");
        Require(RoundTo >= 1, $"roundTo (--round-to) must be at least 1 (got {RoundTo})");
        Require(LatencyRuns >= 1, $"latencyRuns (--latency-runs) must be at least 1 (got {LatencyRuns})");
        Require(FrozenStages.All(s => s >= 0), $"frozenStages must be stage indices ≥ 0 (got {string.Join(", ", FrozenStages)})");
        Require(Teacher is null || Teacher == "base" || File.Exists(Teacher), $"teacher (--teacher) must be 'base' or an existing checkpoint (got '{Teacher}')");
        Require(double.IsFinite(KdTemperature) && KdTemperature > 0, $"kdTemperature (--kd-temperature) must be positive (got {KdTemperature})");
        Require(KdAlpha is >= 0 and <= 1, $"kdAlpha (--kd-alpha) must lie in [0, 1] (got {KdAlpha})");
        Require(double.IsFinite(BnL1) && BnL1 >= 0, $"bnL1 (--bn-l1) must be 0 or more (got {BnL1})");
        Require(Harness.Export.Quantization.CalibrationMethods.Names.Contains(Int8Calibration),
            $"int8Calibration (--int8-calibration) must be one of {string.Join(", ", Harness.Export.Quantization.CalibrationMethods.Names)} (got '{Int8Calibration}')");
        Require(Int8CalibrationBatches is >= 1 and <= 10_000, $"int8CalibrationBatches must lie in 1..10000 (got {Int8CalibrationBatches})");
        Require(PruningSteps is >= 1 and <= 100, $"pruningSteps (--steps) must lie in 1..100 (got {PruningSteps})");
        Require(EpochsPerStep is null or >= 0, $"epochsPerStep (--epochs-per-step) must be 0 or more (got {EpochsPerStep})");
    }

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

    /// <summary>The name suffix of iterative experiments (<c>_iter3</c>), so their files never mix with one-shot ones.</summary>
    private string Iterative => PruningSteps > 1 ? $"_iter{PruningSteps}" : "";

    /// <summary>The name suffix of channel experiments ranked by another importance than the study's L1 (<c>_taylor</c>).</summary>
    private string ImportanceTag => ChannelImportance == ChannelImportances.L1 ? "" : "_" + ChannelImportance.Name.ToLowerInvariant();

    /// <summary>The initial learning rate of an experiment of this kind.</summary>
    public double LearningRateOf(ExperimentKind kind) => kind == ExperimentKind.Base ? LearningRate : FineTuneLearningRate ?? LearningRate;

    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    /// <summary>The study's experiments in order: base, fine-grained, channel.</summary>
    public IReadOnlyList<ExperimentSpec> Experiments() =>
    [
        new(ExperimentSpec.BaseNameOf(NetworkName), ExperimentKind.Base, 0, BaseModel is null ? BaseEpochs : 0),
        .. FineGrainedAmounts.Select(a => new ExperimentSpec($"fine_grained_prune_{Fmt(a)}{Iterative}", ExperimentKind.FineGrained, a, FineGrainedEpochs)),
        .. ChannelRatios.Select(r => new ExperimentSpec($"channel_pruning_{Fmt(r)}{Iterative}{ImportanceTag}", ExperimentKind.Channel, r, ChannelEpochs)),
        .. SlimmingRatios.Select(r => new ExperimentSpec($"slimming_{Fmt(r)}{Iterative}", ExperimentKind.Slimming, r, ChannelEpochs)),
        .. ChannelTargetMacs.Select(f => new ExperimentSpec($"channel_macs_{Fmt(f)}{Iterative}{ImportanceTag}", ExperimentKind.ChannelBudget, f, ChannelEpochs)),
        .. ChannelTargetLatency.Select(f => new ExperimentSpec($"channel_latency_{Fmt(f)}_{LatencyRuntime}_b{LatencyBatchSize}{ImportanceTag}", ExperimentKind.ChannelLatency, f, ChannelEpochs)),
    ];

    /// <summary>What latency targets are measured on: <see cref="LatencyRuntime"/>, <see cref="LatencyBatchSize"/>, the
    /// image size and <see cref="LatencyThreads"/>.</summary>
    public Latency.LatencySetting LatencySetting() => new(Latency.LatencyRuntimes.Parse(LatencyRuntime, "latencyRuntime"), LatencyBatchSize, ImageSize,
        LatencyThreads ?? TorchSharp.torch.get_num_threads());

    private static string Fmt(double v) => v.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
