using Harness.Data;
using Harness.Model;
using Harness.Model.Networks;
using Harness.Training;
using System.CommandLine;

namespace Harness.Cli;

/// <summary>The data that Taylor importance (<c>prune channel --importance Taylor</c>, <c>prune fine-grained
/// --method Taylor</c>) computes its gradients from: the first <c>--calibration-batches</c> batches of the training
/// split (the study's 0.9/0.1 split with <c>--data-seed</c>, in order, evaluation transform).</summary>
public sealed class CalibrationOptions
{
    public Option<string?> Data { get; } = new("--data") { Description = "with Taylor importance: the data set whose training split gives the calibration batches (default: none; required for Taylor)" };
    public Option<int> Batches { get; } = new Option<int>("--calibration-batches") { Description = "with Taylor importance: batches whose loss gradients are summed", DefaultValueFactory = _ => 8 }.AtLeast(1);
    public Option<int> BatchSize { get; } = new Option<int>("--batch-size") { Description = "with Taylor importance: images per calibration batch", DefaultValueFactory = _ => 32 }.AtLeast(1);
    public Option<int> ImageSize { get; } = new Option<int>("--image-size") { Description = "with Taylor importance: side the calibration images are resized to; with --target-macs: the input side the MACs are counted at", DefaultValueFactory = _ => 224 }.ImageSide();
    public Option<ulong> DataSeed { get; } = new("--data-seed") { Description = "with Taylor importance: seed of the train/validation split", DefaultValueFactory = _ => 42UL };

    public IEnumerable<Option> All => [Data, Batches, BatchSize, ImageSize, DataSeed];

    /// <summary>With <paramref name="taylor"/>, runs the calibration batches through <paramref name="model"/> so that
    /// its weights carry the summed gradients; without it, refuses <c>--data</c> (it would do nothing).</summary>
    public void Prepare(ParseResult parse, IPrunableNetwork model, bool taylor, string importanceOption, TextWriter log)
    {
        string? folder = parse.GetValue(Data);
        if (!taylor)
        {
            if (folder is not null) throw new ArgumentException($"--data is only read for Taylor importance ({importanceOption} Taylor)");
            return;
        }
        if (folder is null) throw new ArgumentException($"{importanceOption} Taylor computes gradients from data: pass --data (and --calibration-batches)");
        int size = parse.GetValue(ImageSize), batch = parse.GetValue(BatchSize);
        InputRules.CheckActivationMemory(size, batch, training: true, "--image-size");
        var located = DataOptions.Open(folder, log);
        ModelLoader.RequireClasses(model, located.Train.Classes.Count, "--weights");
        var (train, _) = DatasetSplit.TrainValidation(located.Train, 0.9, parse.GetValue(DataSeed));
        var loader = new BatchLoader(train, batch, false, new BatchTransform { ImageSize = size }, TorchSharp.torch.CPU);
        int n = TaylorCalibration.Accumulate(model.Module, loader, parse.GetValue(Batches));
        log.WriteLine($"Taylor importance: gradients summed over {n} calibration batch(es) of {batch} images at {size} px");
    }
}
