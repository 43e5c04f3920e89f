using Harness.Model;
using Harness.Model.Families;
using Harness.Model.Import;
using Harness.Storage.Files;
using System.CommandLine;

namespace Harness.Cli.Commands;

/// <summary><c>import</c>: brings a network from another format into Harness.</summary>
public static class ImportCommand
{
    public static Command Create() => new("import", "Import a network from another format as a Harness checkpoint")
    {
        CreateOnnx(),
    };

    /// <summary><c>import onnx MODEL.onnx [--preprocess PRE.onnx] [--classes N] --out MODEL.pth</c>: an ONNX CNN as
    /// a trainable graph network (<see cref="OnnxImporter"/>), saved as a checkpoint that records its graph (the
    /// format <c>--out</c>'s extension names). The same import happens wherever <c>--weights MODEL.onnx</c> is
    /// given; converting once saves repeating it and folds a preprocessing graph.</summary>
    public static Command CreateOnnx()
    {
        var model = new Argument<string>("model") { Description = "the ONNX file (a CNN taking N×C×H×W float32 images)" };
        var preprocess = new Option<string?>("--preprocess")
        {
            Description = "an ONNX preprocessing graph (e.g. ML.NET's ResNetPreprocess.onnx: RGB → BGR, minus a mean image, on 0–255 pixels) folded in front, " +
                          "so that the network takes Harness's input (RGB in [0, 1] normalised with ImageNet's mean and std); default: none",
        };
        var classes = new Option<int?>("--classes")
        {
            Description = "outputs of the classifier: a different number replaces the last Linear by a fresh one; a network ending in pooled features gets Flatten + Linear " +
                          $"(default: the model's own classifier, or {OnnxImportOptions.DefaultClasses} for a feature extractor)",
        }.AtLeast(1);
        var seed = new Option<long>("--seed") { Description = "seed of a new classifier's initialisation", DefaultValueFactory = _ => 0 };
        var bnMomentum = new Option<double?>("--bn-momentum")
        {
            Description = "running-statistics momentum of every BatchNorm while training, in PyTorch's convention (0.1 is PyTorch's default); default: the file's own (ONNX's momentum m becomes 1 - m)",
        };
        bnMomentum.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<double?>() is { } m && !(m is >= 0 and <= 1)) r.AddError($"--bn-momentum must lie in [0, 1] (got {m})");
        });
        var outPath = new Option<string>("--out") { Description = "the checkpoint to write (.pth, .safetensors or .hsp; its folder is created if missing)", Required = true };
        var force = CommonOptions.Force();
        var json = CommonOptions.Json();
        var command = new Command("onnx", "Import an ONNX CNN as a trainable, prunable Harness network")
        {
            model, preprocess, classes, seed, bnMomentum, outPath, force, json,
        };
        command.SetAction(parse =>
        {
            var output = parse.InvocationConfiguration.Output;
            string source = parse.GetValue(model)!;
            string path = parse.GetValue(outPath)!;
            string? pre = parse.GetValue(preprocess);
            InputRules.RequireDistinct(path, "--out", source, "MODEL");
            if (pre is not null) InputRules.RequireDistinct(path, "--out", pre, "--preprocess");
            InputRules.RequireNewOrForced(path, "--out", parse.GetValue(force));
            if (!File.Exists(source)) throw new FileNotFoundException($"MODEL '{source}': no such file", source);
            if (pre is not null && !File.Exists(pre)) throw new FileNotFoundException($"--preprocess '{pre}': no such file", pre);
            using var network = OnnxImporter.Import(new OnnxImportOptions(source, pre, parse.GetValue(classes), unchecked((ulong)parse.GetValue(seed))) { BatchNormMomentum = parse.GetValue(bnMomentum) });
            string? folder = Path.GetDirectoryName(Path.GetFullPath(path));
            if (folder is not null) Directory.CreateDirectory(folder);
            ModelLoader.Save(network, path);
            var spec = network.Spec;
            var counts = spec.Nodes.Where(n => n.Module is not null).GroupBy(n => n.Op).ToDictionary(g => g.Key, g => g.Count());
            long parameters = network.parameters().Sum(p => p.numel());
            if (parse.GetValue(json))
            {
                output.WriteLine(HarnessJson.Serialize(new
                {
                    checkpoint = path,
                    source = spec.Source,
                    nodes = spec.Nodes.Count,
                    convs = counts.GetValueOrDefault("Conv"),
                    batchNorms = counts.GetValueOrDefault("BatchNorm"),
                    linears = counts.GetValueOrDefault("Linear"),
                    parameters,
                    input = spec.InputShape,
                    classes = network.NumClasses,
                    stages = spec.Stages,
                }));
                return 0;
            }
            output.WriteLine($"imported {spec.Source}");
            output.WriteLine($"  {spec.Nodes.Count} nodes: {counts.GetValueOrDefault("Conv")} Conv, {counts.GetValueOrDefault("BatchNorm")} BatchNorm, " +
                             $"{counts.GetValueOrDefault("Linear")} Linear; {parameters:N0} parameters; input 3×{spec.InputShape[1]}×{spec.InputShape[2]} declared");
            output.WriteLine($"  classifier '{spec.Nodes.Last(n => n.Outputs.Contains(spec.Output)).Module}': {network.Classifier.InFeatures} → {network.NumClasses}");
            output.WriteLine($"  {spec.Stages.Count} stages for --freeze (the segments between spatial downsamplings; 'summary' lists them)");
            output.WriteLine($"wrote {path}");
            return 0;
        });
        return command;
    }
}
