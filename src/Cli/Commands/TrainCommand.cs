using TorchSharp;
using System.CommandLine;
using Harness.Data;
using Harness.Model;
using Harness.Training;

namespace Harness.Cli.Commands;

/// <summary><c>train</c>: the study's fine-tuning on CIFAR-10 (or an image-folder data set).</summary>
public static class TrainCommand
{
    public static Command Create()
    {
        var data = new DataOptions();
        var weights = CommonOptions.Weights("imagenet");
        var device = CommonOptions.Device();
        var json = CommonOptions.Json();
        var epochs = new Option<int>("--epochs") { Description = "epochs (study: 10 for the base model)", DefaultValueFactory = _ => 10 }.AtLeast(1);
        var freeze = new Option<string>("--freeze") { Description = "comma-separated indices under features to freeze, or 'none' (default 0,1,2: stem and first two stages)", DefaultValueFactory = _ => "0,1,2" };
        var name = new Option<string>("--name") { Description = "run name (best model: <out>/models/<name>.pth)", DefaultValueFactory = _ => "efficientnet_b0_base" };
        var outDir = new Option<string>("--out") { Description = "output folder", DefaultValueFactory = _ => "." };
        var lr = new Option<double>("--lr") { Description = "initial SGD learning rate (study: 0.01; StepLR ×0.1 every 5 epochs)", DefaultValueFactory = _ => 0.01 }.FinitePositive();
        var resume = new Option<bool>("--resume") { Description = "continue from the run's last completed epoch" };
        var command = new Command("train", "Fine-tune EfficientNet-B0 with the study's recipe") { weights, device, json, epochs, freeze, name, outDir, lr, resume };
        foreach (var o in data.All) command.Options.Add(o);
        command.SetAction(parse =>
        {
            var output = parse.InvocationConfiguration.Output;
            var dev = DeviceChoice.Parse(parse.GetValue(device)!);
            InputRules.CheckActivationMemory(parse.GetValue(data.ImageSize), parse.GetValue(data.BatchSize), training: true);
            var located = DataOptions.Open(parse.GetValue(data.Data)!, output, parse.GetValue(data.Download));
            var options = new TrainingOptions
            {
                Epochs = parse.GetValue(epochs), BatchSize = parse.GetValue(data.BatchSize), FrozenStages = ParseStages(parse.GetValue(freeze)!),
                ImageSize = parse.GetValue(data.ImageSize), Seed = parse.GetValue(data.Seed), LearningRate = parse.GetValue(lr),
            };
            options.Validate();
            var (train, val) = DatasetSplit.TrainValidation(located.Train, 0.9, options.Seed);
            train = train.Take(parse.GetValue(data.TrainSubset));
            val = val.Take(parse.GetValue(data.ValSubset));
            using var model = ModelLoader.Load(parse.GetValue(weights)!, located.Train.Classes.Count, Downloads.Resolver(), options.Seed);
            model.to(dev);
            var trainLoader = new BatchLoader(train, options.BatchSize, true, new BatchTransform { ImageSize = options.ImageSize, Train = true }, dev, options.Seed);
            var valLoader = new BatchLoader(val, options.BatchSize, false, new BatchTransform { ImageSize = options.ImageSize }, dev, options.Seed);
            var run = TrainingRun.For(parse.GetValue(name)!, parse.GetValue(outDir)!);
            return CliRunner.WithCancellation(token =>
            {
                var result = new Trainer(options, parse.GetValue(json) ? TextWriter.Null : output).Train(model, trainLoader, valLoader, run, parse.GetValue(resume), token);
                if (parse.GetValue(json)) output.WriteLine(Json.Serialize(new { run, result }));
                else output.WriteLine($"best Val Acc {100 * result.BestValidationAccuracy:F2}%; best model {run.BestModelPath}; history {run.HistoryBase}.json/.csv");
                return result.Interrupted ? 130 : 0;
            });
        });
        return command;
    }

    public static int[] ParseStages(string value)
    {
        if (value.Trim().Equals("none", StringComparison.OrdinalIgnoreCase) || value.Trim().Length == 0) return [];
        return value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(s =>
            int.TryParse(s, out int i) && i >= 0 ? i : throw new ArgumentException($"--freeze '{value}': expected comma-separated stage indices (0 = stem) or 'none'")).ToArray();
    }
}
