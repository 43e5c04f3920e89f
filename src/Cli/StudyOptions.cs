using Harness.Cli.Commands;
using Harness.Experiments;
using System.CommandLine;

namespace Harness.Cli;

/// <summary>The options <c>study</c> and <c>sweep</c> share: a configuration file and single-value overrides. An
/// option not given keeps the file's value (or the command's default, which each description states).</summary>
public sealed class StudyOptions
{
    private readonly Option<string?> _config = new("--config") { Description = "study configuration (JSON, as --print-config prints it); options given on the command line override its values (default: none, the command's settings)" };
    private readonly Option<string?> _preset = new Option<string?>("--preset") { Description = "a named configuration: demo (the whole study in minutes on the CIFAR-10 subset shipped with Harness, on ML.NET's pretrained ResNet-18 when NuGet has restored it); options given beside it override its values (default: none)" }.OneOf([.. StudyPresets.Names]);
    private readonly Option<string?> _data;
    private readonly Option<string?> _weights;
    private readonly Option<string?> _arch = CommonOptions.Arch();
    private readonly Option<string?> _baseModel = new("--base-model") { Description = "an existing base model checkpoint: evaluated, not trained, and pruned by the other experiments (default: train one)" };
    private readonly Option<string?> _device;
    private readonly Option<string?> _output;
    private readonly Option<int?> _imageSize;
    private readonly Option<int?> _batch;
    private readonly Option<ulong?> _seed;
    private readonly Option<int?> _baseEpochs;
    private readonly Option<int?> _fineGrainedEpochs;
    private readonly Option<int?> _channelEpochs;
    private readonly Option<double?> _lr;
    private readonly Option<double?> _fineTuneLr;
    private readonly Option<int?> _lrStep;
    private readonly Option<double?> _lrGamma;
    private readonly Option<int?> _trainSubset = new Option<int?>("--train-subset") { Description = "use only the first N training images (after the split; default: all)" }.AtLeast(1);
    private readonly Option<int?> _fineTuneSubset = new Option<int?>("--fine-tune-subset") { Description = "fine-tune the pruned models on the first N of the base's training images (default: all)" }.AtLeast(1);
    private readonly Option<int?> _valSubset = new Option<int?>("--val-subset") { Description = "use only the first N validation images (default: all)" }.AtLeast(1);
    private readonly Option<int?> _testSubset = new Option<int?>("--test-subset") { Description = "use N test images drawn with --seed (default: all)" }.AtLeast(1);
    private readonly Option<int?> _runs;
    private readonly Option<int?> _roundTo;
    private readonly Option<bool> _neverUntouched = new("--never-untouched") { Description = "channel pruning: keep round_to channels in a group Torch-Pruning's rule would leave untouched (default: off, as Torch-Pruning)" };
    private readonly Option<string?> _freeze;
    private readonly Option<string?> _teacher = new("--teacher") { Description = "distil while fine-tuning the pruned models: 'base' (the study's base model) or a checkpoint (default: none)" };
    private readonly Option<double?> _kdTemperature;
    private readonly Option<double?> _kdAlpha;
    private readonly Option<double?> _bnL1;
    private readonly Option<int?> _steps;
    private readonly Option<Harness.Pruning.Channels.IChannelImportance?> _importance = InputRules.OptionalCriterion("--importance", Harness.Pruning.Channels.ChannelImportances.Registry, "importance of the channel experiments", "L1");
    private readonly Option<int?> _calibration = new Option<int?>("--calibration-batches") { Description = "with --importance Taylor: training batches whose gradients are summed (default: 8)" }.AtLeast(1);
    private readonly Option<bool> _int8;
    private readonly Option<string?> _int8Calibration;
    private readonly Option<string?> _latencyRuntime;
    private readonly Option<int?> _latencyBatch;
    private readonly Option<int?> _epochsPerStep = new Option<int?>("--epochs-per-step") { Description = "iterative pruning: fine-tuning epochs after each step (default: the kind's --fine-grained-epochs / --channel-epochs)" }.AtLeast(0);

    /// <param name="outputDescription">What <c>--out</c> holds for this command.</param>
    /// <param name="defaults">The command's defaults (a study or a sweep), stated in every description.</param>
    public StudyOptions(string outputDescription, StudyConfig defaults)
    {
        static string D(object v) => $" (default: {Convert.ToString(v, System.Globalization.CultureInfo.InvariantCulture)})";
        _data = new Option<string?>("--data") { Description = "data folder: CIFAR-10 binary or python layout, or train/ and test/ image folders" + D(defaults.Data) };
        _weights = new Option<string?>("--weights") { Description = "initial weights of the base model: none (random init, seeded by --seed), imagenet (torchvision's checkpoint, as the study), mlnet-resnet18 (ML.NET's ImageNet ResNet-18 from NuGet, imported), an ONNX model or a checkpoint path" + D(defaults.Weights) };
        _device = new Option<string?>("--device") { Description = "cpu, cuda or auto (cuda when available)" + D(defaults.Device) };
        _output = new Option<string?>("--out") { Description = outputDescription + D(defaults.Output) };
        _imageSize = new Option<int?>("--image-size") { Description = "side the images are resized to" + D(defaults.ImageSize) }.ImageSide();
        _batch = new Option<int?>("--batch-size") { Description = "images per batch" + D(defaults.BatchSize) }.AtLeast(1);
        _seed = new Option<ulong?>("--seed") { Description = "seed of the split, shuffles, flips and initialisation" + D(defaults.Seed) };
        _baseEpochs = new Option<int?>("--base-epochs") { Description = "epochs of the base model" + D(defaults.BaseEpochs) }.AtLeast(0);
        _fineGrainedEpochs = new Option<int?>("--fine-grained-epochs") { Description = "fine-tuning epochs after fine-grained pruning (0: one-shot)" + D(defaults.FineGrainedEpochs) }.AtLeast(0);
        _channelEpochs = new Option<int?>("--channel-epochs") { Description = "fine-tuning epochs after channel pruning (0: one-shot)" + D(defaults.ChannelEpochs) }.AtLeast(0);
        _lr = new Option<double?>("--lr") { Description = "initial SGD learning rate of the base model, and of the pruned experiments unless --fine-tune-lr is given (StepLR: ×--lr-gamma every --lr-step epochs)" + D(defaults.LearningRate) }.LearningRate();
        _fineTuneLr = new Option<double?>("--fine-tune-lr") { Description = "initial learning rate of the pruned experiments' fine-tuning (default: " + (defaults.FineTuneLearningRate?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "--lr") + ")" }.LearningRate();
        _lrStep = new Option<int?>("--lr-step") { Description = "StepLR step in epochs" + D(defaults.LrStepSize) }.AtLeast(1);
        _lrGamma = new Option<double?>("--lr-gamma") { Description = "StepLR factor, in (0, 1]" + D(defaults.LrGamma) };
        _runs = new Option<int?>("--runs", "--latency-runs") { Description = "timed forward passes per model" + D(defaults.LatencyRuns) }.AtLeast(1);
        _roundTo = new Option<int?>("--round-to") { Description = "channel pruning: kept widths are multiples of this" + D(defaults.RoundTo) }.AtLeast(1);
        _freeze = new Option<string?>("--freeze") { Description = "comma-separated stage indices to freeze, or none" + D(string.Join(",", defaults.FrozenStages)) };
        _kdTemperature = new Option<double?>("--kd-temperature") { Description = "distillation temperature T" + D(defaults.KdTemperature) };
        _kdAlpha = new Option<double?>("--kd-alpha") { Description = "weight A of the distillation term, 1 − A for cross-entropy" + D(defaults.KdAlpha) };
        _bnL1 = new Option<double?>("--bn-l1") { Description = "network slimming: λ of λ·Σ|γ| over BatchNorm scales while training the base model" + D(defaults.BnL1) };
        _steps = new Option<int?>("--steps") { Description = "iterative pruning: prune → fine-tune steps per pruned experiment (channel: Torch-Pruning's linear scheduler; fine-grained: Zhu & Gupta's gradual schedule)" + D(defaults.PruningSteps) }.AtLeast(1);
        _int8 = new Option<bool>("--int8") { Description = "also quantize every model to int8 (static QDQ, ONNX Runtime) and measure its size, latency and test accuracy" + D(defaults.Int8) };
        _latencyRuntime = new Option<string?>("--latency-runtime") { Description = "the runtime latency targets (channelTargetLatency, sweep --pruning latency) are measured in: onnx, onnx-int8 or torch" + D(defaults.LatencyRuntime) };
        _latencyBatch = new Option<int?>("--latency-batch-size") { Description = "the batch latency targets are measured at" + D(defaults.LatencyBatchSize) }.AtLeast(1);
        _int8Calibration = new Option<string?>("--int8-calibration") { Description = "int8 calibration: minmax, percentile or entropy" + D(defaults.Int8Calibration) };
        Defaults = defaults;
    }

    /// <summary>The command's defaults (used when no --config is given).</summary>
    public StudyConfig Defaults { get; }

    public IEnumerable<Option> All =>
    [
        _config, _preset, _data, _weights, _arch, _baseModel, _device, _output, _imageSize, _batch, _seed, _baseEpochs, _fineGrainedEpochs,
        _channelEpochs, _lr, _fineTuneLr, _lrStep, _lrGamma, _trainSubset, _fineTuneSubset, _valSubset, _testSubset, _runs, _roundTo, _neverUntouched, _freeze,
        _teacher, _kdTemperature, _kdAlpha, _bnL1, _steps, _epochsPerStep, _importance, _calibration, _int8, _int8Calibration,
        _latencyRuntime, _latencyBatch,
    ];

    /// <summary>The folder of the CIFAR-10 subset the build copies beside the program (<c>demo/cifar10</c>).</summary>
    public static string DemoData => Path.Combine(AppContext.BaseDirectory, "demo", "cifar10");

    private static StudyConfig DemoPreset(TextWriter log)
    {
        if (!Directory.Exists(DemoData))
            throw new DirectoryNotFoundException($"--preset demo: its data {DemoData} is missing (the build copies demo/cifar10 of the repository there)");
        bool pretrained = Harness.Model.Import.PretrainedOnnx.Available;
        log.WriteLine(pretrained
            ? $"demo: ML.NET's ImageNet-trained ResNet-18 ({Harness.Model.Import.PretrainedOnnx.Files.Model}) on the {DemoData} subset"
            : $"demo: ML.NET's pretrained ResNet-18 is not in NuGet's packages folder ({Harness.Model.Import.PretrainedOnnx.Files.Model}; 'dotnet restore src/Cli' downloads it), so resnet18 trains from scratch on the {DemoData} subset: expect accuracies near chance");
        return StudyPresets.DemoConfig(DemoData, pretrained);
    }

    /// <summary>The configuration file (or the defaults) with the given options applied.</summary>
    public StudyConfig Resolve(ParseResult parse, TextWriter? log = null)
    {
        if (parse.GetValue(_config) is not null && parse.GetValue(_preset) is not null)
            throw new ArgumentException("--config and --preset both name a configuration: give one");
        var c = parse.GetValue(_config) is string p ? StudyConfig.Load(p)
            : parse.GetValue(_preset) is StudyPresets.Demo ? DemoPreset(log ?? TextWriter.Null)
            : Defaults;
        return c with
        {
            Data = parse.GetValue(_data) ?? c.Data,
            Weights = parse.GetValue(_weights) ?? c.Weights,
            Arch = parse.GetValue(_arch) ?? c.Arch,
            BaseModel = parse.GetValue(_baseModel) ?? c.BaseModel,
            Device = parse.GetValue(_device) ?? c.Device,
            Output = parse.GetValue(_output) ?? c.Output,
            ImageSize = parse.GetValue(_imageSize) ?? c.ImageSize,
            BatchSize = parse.GetValue(_batch) ?? c.BatchSize,
            Seed = parse.GetValue(_seed) ?? c.Seed,
            BaseEpochs = parse.GetValue(_baseEpochs) ?? c.BaseEpochs,
            FineGrainedEpochs = parse.GetValue(_fineGrainedEpochs) ?? c.FineGrainedEpochs,
            ChannelEpochs = parse.GetValue(_channelEpochs) ?? c.ChannelEpochs,
            LearningRate = parse.GetValue(_lr) ?? c.LearningRate,
            FineTuneLearningRate = parse.GetValue(_fineTuneLr) ?? c.FineTuneLearningRate,
            LrStepSize = parse.GetValue(_lrStep) ?? c.LrStepSize,
            LrGamma = parse.GetValue(_lrGamma) ?? c.LrGamma,
            TrainSubset = parse.GetValue(_trainSubset) ?? c.TrainSubset,
            FineTuneSubset = parse.GetValue(_fineTuneSubset) ?? c.FineTuneSubset,
            ValSubset = parse.GetValue(_valSubset) ?? c.ValSubset,
            TestSubset = parse.GetValue(_testSubset) ?? c.TestSubset,
            LatencyRuns = parse.GetValue(_runs) ?? c.LatencyRuns,
            RoundTo = parse.GetValue(_roundTo) ?? c.RoundTo,
            NeverUntouched = parse.GetValue(_neverUntouched) || c.NeverUntouched,
            FrozenStages = parse.GetValue(_freeze) is string f ? TrainCommand.ParseStages(f) : c.FrozenStages,
            Teacher = parse.GetValue(_teacher) ?? c.Teacher,
            KdTemperature = parse.GetValue(_kdTemperature) ?? c.KdTemperature,
            KdAlpha = parse.GetValue(_kdAlpha) ?? c.KdAlpha,
            BnL1 = parse.GetValue(_bnL1) ?? c.BnL1,
            ChannelImportance = parse.GetValue(_importance) ?? c.ChannelImportance,
            CalibrationBatches = parse.GetValue(_calibration) ?? c.CalibrationBatches,
            PruningSteps = parse.GetValue(_steps) ?? c.PruningSteps,
            EpochsPerStep = parse.GetValue(_epochsPerStep) ?? c.EpochsPerStep,
            Int8 = parse.GetValue(_int8) || c.Int8,
            Int8Calibration = parse.GetValue(_int8Calibration) ?? c.Int8Calibration,
            LatencyRuntime = parse.GetValue(_latencyRuntime) ?? c.LatencyRuntime,
            LatencyBatchSize = parse.GetValue(_latencyBatch) ?? c.LatencyBatchSize,
        };
    }
}
