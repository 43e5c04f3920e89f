using Harness.Data;
using Harness.Data.Cifar;
using Harness.Experiments;
using Harness.Export;
using Harness.Export.Quantization;
using Harness.Model;
using Harness.Storage.Files;
using Harness.Training;
using System.CommandLine;
using System.Security.Cryptography;

namespace Harness.Cli.Commands;

/// <summary><c>export onnx</c>: any model Harness reads (dense, masked, permanent, channel-pruned) as an ONNX file
/// (opset 17, dynamic batch, H and W), BatchNorm folded into the convs unless <c>--no-fold-bn</c>. A missing
/// folder of <c>--out</c> is created; <c>--out</c> equal to <c>--weights</c> is refused; an existing file is
/// replaced only with <c>--force</c>. With <c>--int8</c>: static post-training quantization in QDQ form
/// (<see cref="Int8Exporter"/>), calibrated on <c>--calibration-batches</c> batches of <c>--data</c>'s training split.</summary>
public static class ExportOnnxCommand
{
    public static Command Create()
    {
        var weights = CommonOptions.TrainedWeights();
        var arch = CommonOptions.Arch();
        var classes = CommonOptions.Classes();
        var outPath = new Option<string>("--out") { Description = "the .onnx file to write (its folder is created if missing)", Required = true };
        var imageSize = new Option<int>("--image-size")
        {
            Description = "the image side the model was trained at, recorded in the metadata (the graph's H and W are dynamic)",
            DefaultValueFactory = _ => 224,
        }.ImageSide();
        var noFold = new Option<bool>("--no-fold-bn") { Description = "export BatchNormalization nodes instead of folding them into the convs" };
        var force = CommonOptions.Force();
        var json = CommonOptions.Json();
        var int8 = new Option<bool>("--int8") { Description = "static int8 quantization (QDQ: weights int8 per output channel, activations uint8 per tensor), calibrated on --data's training split" };
        var calibration = new Option<string>("--calibration")
        {
            Description = "how each activation's range is chosen: minmax (the observed range), percentile (all but the outer --percentile tails), entropy (least KL divergence, TensorRT's method)",
            DefaultValueFactory = _ => "minmax",
        };
        var batches = new Option<int>("--calibration-batches") { Description = "batches of training images calibration runs", DefaultValueFactory = _ => CalibrationImages.DefaultBatches }.AtLeast(1);
        var batchSize = new Option<int>("--batch-size") { Description = "images per calibration batch", DefaultValueFactory = _ => CalibrationImages.DefaultBatchSize }.AtLeast(1);
        var percentile = new Option<double>("--percentile") { Description = "percentile calibration: the share of values (%) kept at each tail", DefaultValueFactory = _ => 99.999 };
        var data = new Option<string?>("--data") { Description = "with --int8: the data folder whose training split calibrates the activations (CIFAR-10 layouts or image folders; default: none, required by --int8)" };
        var seed = new Option<ulong>("--seed") { Description = "seed of the train/validation split and of the calibration images' order", DefaultValueFactory = _ => 42UL };
        var threads = CommonOptions.Threads();
        var command = new Command("onnx", "Export a model as ONNX (opset 17) for ONNX Runtime and other runtimes; --int8 quantizes it")
        {
            weights, arch, classes, outPath, imageSize, noFold, force, json, int8, calibration, batches, batchSize, percentile, data, seed, threads,
        };
        command.SetAction(parse =>
        {
            var output = parse.InvocationConfiguration.Output;
            string source = parse.GetValue(weights)!;
            string path = parse.GetValue(outPath)!;
            InputRules.RequireDistinct(path, "--out", source, "--weights");
            InputRules.RequireNewOrForced(path, "--out", parse.GetValue(force));
            bool quantize = parse.GetValue(int8);
            string? dataFolder = parse.GetValue(data);
            if (quantize && dataFolder is null)
                throw new ArgumentException("--int8 needs --data: calibration runs on its training split");
            if (!quantize)
                foreach (var name in new[] { "--calibration", "--calibration-batches", "--percentile", "--data" })
                    if (parse.CommandResult.Children.OfType<System.CommandLine.Parsing.OptionResult>().Any(r => r.Option.Name == name && !r.Implicit))
                        throw new ArgumentException($"{name} applies only with --int8");
            if (quantize && parse.GetValue(noFold))
                throw new ArgumentException("--no-fold-bn: an int8 export folds BatchNorm into the convs (QLinearConv has no BatchNorm)");
            var resolver = Downloads.Resolver();
            string? variant = parse.GetValue(arch);
            string? file = ModelLoader.WeightsFile(source, variant, resolver);
            using var model = ModelLoader.LoadNetwork(source, variant, parse.GetValue(classes), resolver);
            model.Module.eval();
            int numClasses = model.NumClasses;
            var env = RunManifest.CurrentEnvironment("cpu");
            var options = new OnnxExportOptions
            {
                ImageSize = parse.GetValue(imageSize),
                FoldBatchNorm = !parse.GetValue(noFold),
                ClassNames = numClasses == CifarClasses.Names.Count
                    ? CifarClasses.Names
                    : Enumerable.Range(0, numClasses).Select(i => $"class_{i}").ToList(),
                Mean = new BatchTransform().Mean,
                Std = new BatchTransform().Std,
                SourceSha256 = file is null ? "none" : Sha256(file),
                HarnessVersion = $"{env["harness_version"]}+{env["harness_commit"]}",
            };
            QuantizationOptions? quantization = null;
            if (quantize)
            {
                var located = DataOptions.Open(dataFolder!, parse.GetValue(json) ? TextWriter.Null : output);
                ModelLoader.RequireClasses(model, located.Train.Classes.Count, source);
                var images = CalibrationImages.FromTrainingSplit(located, parse.GetValue(batches), parse.GetValue(batchSize), options.ImageSize, parse.GetValue(seed));
                quantization = new QuantizationOptions
                {
                    Method = CalibrationMethods.Parse(parse.GetValue(calibration)!),
                    Percentile = parse.GetValue(percentile),
                    CalibrationSource = CalibrationImages.Describe(located, images),
                    CalibrationImages = images.Sum(b => b.Shape[0]),
                };
                Int8Exporter.Write(model, path, options, quantization, images, TorchSharp.torch.get_num_threads());
            }
            else OnnxExporter.Write(model, path, options);
            long bytes = new FileInfo(path).Length;
            if (parse.GetValue(json))
                output.WriteLine(HarnessJson.Serialize(new
                {
                    onnx = path,
                    bytes,
                    opset = OnnxExporter.Opset,
                    irVersion = OnnxExporter.IrVersion,
                    batchNorm = options.FoldBatchNorm ? "folded" : "unfolded",
                    options.ImageSize,
                    options.SourceSha256,
                    quantization = quantization is null ? null : Int8Exporter.Scheme,
                    calibration = quantization is null ? null : new { method = quantization.Method.Name(), images = quantization.CalibrationImages, source = quantization.CalibrationSource },
                }));
            else if (quantization is not null)
                output.WriteLine($"wrote {path} ({bytes:N0} bytes; int8 QDQ, opset {OnnxExporter.Opset}; {quantization.Method.Name()} calibration on " +
                    $"{quantization.CalibrationImages} training images; input [N, 3, H, W] float, trained at {options.ImageSize}; source {options.SourceSha256})");
            else
                output.WriteLine($"wrote {path} ({bytes:N0} bytes; opset {OnnxExporter.Opset}, IR {OnnxExporter.IrVersion}; " +
                    $"BatchNorm {(options.FoldBatchNorm ? "folded" : "unfolded")}; input [N, 3, H, W], trained at {options.ImageSize}; source {options.SourceSha256})");
            return 0;
        });
        return command;
    }

    private static string Sha256(string file)
    {
        using var fs = File.OpenRead(file);
        return Convert.ToHexString(SHA256.HashData(fs)).ToLowerInvariant();
    }
}
