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
    private readonly Option<string?> _baseModel = new("--base-model") { Description = "an existing base model checkpoint: evaluated, not trained, and pruned by the other experiments" };
    private readonly Option<string?> _device = new("--device") { Description = "cpu, cuda or auto" };
    private readonly Option<string?> _output;
    private readonly Option<int?> _imageSize = new("--image-size");
    private readonly Option<int?> _batch = new("--batch-size");
    private readonly Option<ulong?> _seed = new("--seed");
    private readonly Option<int?> _baseEpochs = new("--base-epochs");
    private readonly Option<double?> _lr = new("--lr") { Description = "initial SGD learning rate of every experiment (study: 0.01)" };
    private readonly Option<int?> _trainSubset = new("--train-subset");
    private readonly Option<int?> _valSubset = new("--val-subset");
    private readonly Option<int?> _testSubset = new("--test-subset");
    private readonly Option<int?> _latencyRuns = new("--latency-runs");
    private readonly Option<int?> _roundTo = new("--round-to") { Description = "channel pruning: kept widths are multiples of this" };
    private readonly Option<bool> _neverUntouched = new("--never-untouched") { Description = "channel pruning: keep round_to channels in a group Torch-Pruning's rule would leave untouched" };
    private readonly Option<string?> _freeze = new("--freeze") { Description = "comma-separated stage indices to freeze, or none" };

    public StudyOptions(string outputDescription) =>
        _output = new Option<string?>("--out") { Description = outputDescription };

    public IEnumerable<Option> All =>
    [
        _config, _data, _weights, _baseModel, _device, _output, _imageSize, _batch, _seed, _baseEpochs, _lr, _trainSubset, _valSubset,
        _testSubset, _latencyRuns, _roundTo, _neverUntouched, _freeze,
    ];

    /// <summary>The configuration file (or the defaults) with the given options applied.</summary>
    public StudyConfig Resolve(ParseResult parse, StudyConfig? defaults = null)
    {
        var c = parse.GetValue(_config) is string p ? StudyConfig.Load(p) : defaults ?? new StudyConfig();
        return c with
        {
            Data = parse.GetValue(_data) ?? c.Data, Weights = parse.GetValue(_weights) ?? c.Weights,
            BaseModel = parse.GetValue(_baseModel) ?? c.BaseModel, Device = parse.GetValue(_device) ?? c.Device,
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
