using Harness.Data;
using Harness.Data.Cifar;
using Harness.Export;
using Harness.Model;
using Harness.Storage.Files;
using Harness.Training;
using System.CommandLine;
using System.Security.Cryptography;

namespace Harness.Cli.Commands;

/// <summary><c>export onnx</c>: any model Harness reads (dense, masked, permanent, channel-pruned) as an ONNX file
/// (opset 17, dynamic batch, H and W), BatchNorm folded into the convs unless <c>--no-fold-bn</c>. A missing
/// folder of <c>--out</c> is created; <c>--out</c> equal to <c>--weights</c> is refused; an existing file is
/// replaced only with <c>--force</c>.</summary>
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
        var command = new Command("onnx", "Export a model as ONNX (opset 17) for ONNX Runtime and other runtimes")
        {
            weights, arch, classes, outPath, imageSize, noFold, force, json,
        };
        command.SetAction(parse =>
        {
            var output = parse.InvocationConfiguration.Output;
            string source = parse.GetValue(weights)!;
            string path = parse.GetValue(outPath)!;
            InputRules.RequireDistinct(path, "--out", source, "--weights");
            InputRules.RequireNewOrForced(path, "--out", parse.GetValue(force));
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
            OnnxExporter.Write(model, path, options);
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
                }));
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
