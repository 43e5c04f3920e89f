using System.CommandLine;
using Harness.Cli.Commands;
using Harness.Experiments;

namespace Harness.Cli;

/// <summary>The options <c>study</c> and <c>sweep</c> share: a configuration file and single-value overrides.</summary>
public sealed class StudyOptions
{
    private readonly Option<string?> _config = new("--config") { Description = "study configuration (JSON); defaults are the study's settings" };
    private readonly Option<string?> _data = new("--data") { Description = "data folder" };
    private readonly Option<string?> _weights = new("--weights") { Description = "initial weights of the base model: imagenet, none or a path" };
    private readonly Option<string?> _arch = CommonOptions.Arch();
    private readonly Option<string?> _baseModel = new("--base-model") { Description = "an existing base model checkpoint: evaluated, not trained, and pruned by the other experiments" };
    private readonly Option<string?> _device = new("--device") { Description = "cpu, cuda or auto" };
    private readonly Option<string?> _output;
    private readonly Option<int?> _imageSize = new Option<int?>("--image-size") { Description = "side the images are resized to (study: 224)" }.ImageSide();
    private readonly Option<int?> _batch = new Option<int?>("--batch-size") { Description = "images per batch (study: 128)" }.AtLeast(1);
    private readonly Option<ulong?> _seed = new("--seed") { Description = "seed of the split, shuffles, flips and initialisation (study: 42)" };
    private readonly Option<int?> _baseEpochs = new Option<int?>("--base-epochs") { Description = "epochs of the base model (study: 10)" }.AtLeast(0);
    private readonly Option<double?> _lr = new Option<double?>("--lr") { Description = "initial SGD learning rate of every experiment (study: 0.01)" }.LearningRate();
    private readonly Option<int?> _trainSubset = new Option<int?>("--train-subset") { Description = "use only the first N training images (after the split)" }.AtLeast(1);
    private readonly Option<int?> _valSubset = new Option<int?>("--val-subset") { Description = "use only the first N validation images" }.AtLeast(1);
    private readonly Option<int?> _testSubset = new Option<int?>("--test-subset") { Description = "use N test images drawn with --seed" }.AtLeast(1);
    private readonly Option<int?> _latencyRuns = new Option<int?>("--latency-runs") { Description = "timed forward passes per model (study: 100)" }.AtLeast(1);
    private readonly Option<int?> _roundTo = new Option<int?>("--round-to") { Description = "channel pruning: kept widths are multiples of this" }.AtLeast(1);
    private readonly Option<bool> _neverUntouched = new("--never-untouched") { Description = "channel pruning: keep round_to channels in a group Torch-Pruning's rule would leave untouched" };
    private readonly Option<string?> _freeze = new("--freeze") { Description = "comma-separated stage indices to freeze, or none" };

    public StudyOptions(string outputDescription) =>
        _output = new Option<string?>("--out") { Description = outputDescription };

    public IEnumerable<Option> All =>
    [
        _config, _data, _weights, _arch, _baseModel, _device, _output, _imageSize, _batch, _seed, _baseEpochs, _lr, _trainSubset, _valSubset,
        _testSubset, _latencyRuns, _roundTo, _neverUntouched, _freeze,
    ];

    /// <summary>The configuration file (or the defaults) with the given options applied.</summary>
    public StudyConfig Resolve(ParseResult parse, StudyConfig? defaults = null)
    {
        var c = parse.GetValue(_config) is string p ? StudyConfig.Load(p) : defaults ?? new StudyConfig();
        return c with
        {
            Data = parse.GetValue(_data) ?? c.Data, Weights = parse.GetValue(_weights) ?? c.Weights,
            Arch = parse.GetValue(_arch) ?? c.Arch, BaseModel = parse.GetValue(_baseModel) ?? c.BaseModel, Device = parse.GetValue(_device) ?? c.Device,
            Output = parse.GetValue(_output) ?? c.Output, ImageSize = parse.GetValue(_imageSize) ?? c.ImageSize,
            BatchSize = parse.GetValue(_batch) ?? c.BatchSize, Seed = parse.GetValue(_seed) ?? c.Seed,
            BaseEpochs = parse.GetValue(_baseEpochs) ?? c.BaseEpochs, LearningRate = parse.GetValue(_lr) ?? c.LearningRate, TrainSubset = parse.GetValue(_trainSubset) ?? c.TrainSubset,
            ValSubset = parse.GetValue(_valSubset) ?? c.ValSubset, TestSubset = parse.GetValue(_testSubset) ?? c.TestSubset,
            LatencyRuns = parse.GetValue(_latencyRuns) ?? c.LatencyRuns, RoundTo = parse.GetValue(_roundTo) ?? c.RoundTo,
            NeverUntouched = parse.GetValue(_neverUntouched) || c.NeverUntouched,
            FrozenStages = parse.GetValue(_freeze) is string f ? TrainCommand.ParseStages(f) : c.FrozenStages,
        };
    }
}
