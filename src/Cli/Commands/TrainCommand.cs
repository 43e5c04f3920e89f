using Harness.Data;
using Harness.Model;
using Harness.Storage.Files;
using Harness.Training;
using System.CommandLine;
using TorchSharp;

namespace Harness.Cli.Commands;

/// <summary><c>train</c>: the study's fine-tuning on CIFAR-10 (or an image-folder data set).</summary>
public static class TrainCommand
{
    public static Command Create()
    {
        var data = new DataOptions();
        var weights = CommonOptions.Weights();
        var arch = CommonOptions.Arch();
        var device = CommonOptions.Device();
        var json = CommonOptions.Json();
        var epochs = new Option<int>("--epochs") { Description = "epochs (study: 10 for the base model)", DefaultValueFactory = _ => 10 }.AtLeast(1);
        var freeze = new Option<string>("--freeze") { Description = "comma-separated stage indices to freeze, or 'none' (default 0,1,2: stem and first two stages; EfficientNet and MobileNetV2: features.k; ResNet: 0 = conv1/bn1, k = layerk)", DefaultValueFactory = _ => "0,1,2" };
        var name = new Option<string?>("--name") { Description = "run name (best model: <out>/models/<name>.pth; default <network>_base: the --arch variant, mlnet_resnet18, or the ONNX file's name; efficientnet_b0_base without either)" }.PlainName();
        var outDir = new Option<string>("--out") { Description = "output folder", DefaultValueFactory = _ => "." };
        var lr = new Option<double>("--lr") { Description = "initial SGD learning rate (study: 0.01; StepLR ×0.1 every 5 epochs)", DefaultValueFactory = _ => 0.01 }.LearningRate();
        var resume = new Option<bool>("--resume") { Description = "continue from the run's last completed epoch (its settings must match; --epochs may grow)" };
        var force = CommonOptions.Force();
        var teacher = new Option<string?>("--teacher") { Description = "a trained checkpoint to distil from (Hinton et al. 2015; default: none)" };
        var kdTemperature = new Option<double>("--kd-temperature") { Description = "distillation temperature T", DefaultValueFactory = _ => 4.0 };
        var kdAlpha = new Option<double>("--kd-alpha") { Description = "weight A of A·T²·KL(teacher ‖ student); 1 − A weighs the cross-entropy", DefaultValueFactory = _ => 0.9 };
        var bnL1 = new Option<double>("--bn-l1") { Description = "network slimming (Liu et al. 2017): λ of λ·Σ|γ| over BatchNorm scales", DefaultValueFactory = _ => 0.0 };
        var command = new Command("train", "Fine-tune a network (EfficientNet-B0 unless --arch says otherwise) with the study's recipe")
            { weights, arch, device, json, epochs, freeze, name, outDir, lr, resume, force, teacher, kdTemperature, kdAlpha, bnL1 };
        foreach (var o in data.ForTraining) command.Options.Add(o);
        command.SetAction(parse =>
        {
            var output = parse.InvocationConfiguration.Output;
            // With --json, stdout holds the one JSON document; everything said on the way goes to stderr.
            var log = parse.GetValue(json) ? parse.InvocationConfiguration.Error : output;
            var dev = DeviceChoice.Parse(parse.GetValue(device)!);
            InputRules.CheckActivationMemory(parse.GetValue(data.ImageSize), parse.GetValue(data.BatchSize), training: true);
            var run = TrainingRun.For(parse.GetValue(name) ?? $"{ModelLoader.NetworkName(parse.GetValue(weights)!, parse.GetValue(arch))}_base", parse.GetValue(outDir)!);
            using var outputLock = OutputLock.Acquire(parse.GetValue(outDir)!, log);
            bool resuming = parse.GetValue(resume), forced = parse.GetValue(force);
            if (!resuming && !forced && (File.Exists(run.BestModelPath) || File.Exists(Path.Combine(run.StateFolder, RunManifest.FileName))))
                throw new IOException($"{run.BestModelPath} or its run state already exists (from an earlier run): pass --resume to continue it or --force to replace it");
            var located = DataOptions.Open(parse.GetValue(data.Data)!, log, parse.GetValue(data.Download));
            var options = new TrainingOptions
            {
                Epochs = parse.GetValue(epochs),
                BatchSize = parse.GetValue(data.BatchSize),
                FrozenStages = ParseStages(parse.GetValue(freeze)!),
                ImageSize = parse.GetValue(data.ImageSize),
                Seed = parse.GetValue(data.Seed),
                LearningRate = parse.GetValue(lr),
            };
            options.Validate();
            var (train, val) = DatasetSplit.TrainValidation(located.Train, 0.9, options.Seed);
            train = train.Take(parse.GetValue(data.TrainSubset));
            val = val.Take(parse.GetValue(data.ValSubset));
            string w = parse.GetValue(weights)!;
            var resolver = Downloads.Resolver();
            string? variant = parse.GetValue(arch);
            string? weightsFile = ModelLoader.WeightsFile(w, variant, resolver);
            var manifest = RunManifest.Create(new Dictionary<string, string?>
            {
                ["command"] = "train",
                ["name"] = run.Name,
                ["weights"] = w,
                ["arch"] = variant,
                ["initial_weights_sha256"] = RunManifest.HashOf(weightsFile),
                ["data_layout"] = located.Layout.ToString(),
                ["data_train_sha256"] = DatasetFingerprint.Of(located.Train),
                ["train_subset"] = parse.GetValue(data.TrainSubset)?.ToString(),
                ["val_subset"] = parse.GetValue(data.ValSubset)?.ToString(),
                ["image_size"] = $"{options.ImageSize}",
                ["batch_size"] = $"{options.BatchSize}",
                ["seed"] = $"{options.Seed}",
                ["lr"] = options.LearningRate.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
                ["momentum"] = $"{options.Momentum}",
                ["weight_decay"] = $"{options.WeightDecay}",
                ["step_size"] = $"{options.StepSize}",
                ["gamma"] = $"{options.Gamma}",
                ["freeze"] = string.Join(",", options.FrozenStages),
                ["teacher_sha256"] = parse.GetValue(teacher) is string tp ? RunManifest.HashOf(tp) : null,
                ["kd_temperature"] = parse.GetValue(teacher) is null ? null : parse.GetValue(kdTemperature).ToString("R", System.Globalization.CultureInfo.InvariantCulture),
                ["kd_alpha"] = parse.GetValue(teacher) is null ? null : parse.GetValue(kdAlpha).ToString("R", System.Globalization.CultureInfo.InvariantCulture),
                ["bn_l1"] = parse.GetValue(bnL1) > 0 ? parse.GetValue(bnL1).ToString("R", System.Globalization.CultureInfo.InvariantCulture) : null,
            }, dev.ToString());
            string manifestPath = Path.Combine(run.StateFolder, RunManifest.FileName);
            if (resuming && !RunManifest.Matches(manifestPath, manifest, forced, log, $"training run '{run.Name}'")) resuming = false;
            using var model = ModelLoader.LoadNetwork(w, variant, located.Train.Classes.Count, resolver, options.Seed);
            ModelLoader.RequireClasses(model, located.Train.Classes.Count, w);
            model.Module.to(dev);
            var trainLoader = new BatchLoader(train, options.BatchSize, true, new BatchTransform { ImageSize = options.ImageSize, Train = true }, dev, options.Seed);
            var valLoader = new BatchLoader(val, options.BatchSize, false, new BatchTransform { ImageSize = options.ImageSize }, dev, options.Seed);
            Directory.CreateDirectory(run.StateFolder);
            manifest.Save(manifestPath);
            using var teacherModel = parse.GetValue(teacher) is string teacherPath ? ModelLoader.LoadNetwork(teacherPath) : null;
            if (teacherModel is not null)
            {
                ModelLoader.RequireClasses(teacherModel, located.Train.Classes.Count, "--teacher");
                teacherModel.Module.to(dev);
            }
            var objective = new TrainingObjective
            {
                Teacher = teacherModel?.Module,
                Temperature = parse.GetValue(kdTemperature),
                Alpha = parse.GetValue(kdAlpha),
                BatchNormL1 = parse.GetValue(bnL1),
            };
            objective.Validate();
            return CliRunner.WithCancellation(token =>
            {
                var trainer = new Trainer(options, parse.GetValue(json) ? TextWriter.Null : output) { Objective = objective };
                var result = trainer.Train(model, trainLoader, valLoader, run, resuming, token);
                if (parse.GetValue(json)) output.WriteLine(HarnessJson.Serialize(new { run, result }));
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
