using Harness.Data;
using Harness.Export;
using Harness.Model;
using Harness.Storage.Files;
using Harness.Training;
using System.CommandLine;
using TorchSharp;

namespace Harness.Cli.Commands;

/// <summary><c>evaluate</c>: test loss and accuracy of a model, run eagerly by TorchSharp or, with <c>--runtime onnx</c>
/// (the default for a <c>.onnx</c> file, float or int8), by ONNX Runtime.</summary>
public static class EvaluateCommand
{
    public static Command Create()
    {
        var data = new DataOptions();
        var weights = CommonOptions.TrainedWeights(onnx: true);
        var runtime = new Option<string?>("--runtime") { Description = "torch (TorchSharp eager) or onnx (ONNX Runtime: a .onnx file as it is, float or int8, or a checkpoint exported with BatchNorm folded; the default for a .onnx file)" }
            .AcceptOnlyFromAmong("torch", "onnx");
        var arch = CommonOptions.Arch();
        var device = CommonOptions.Device();
        var json = CommonOptions.Json();
        var outDir = new Option<string>("--out") { Description = "folder for the per-class CSV, the confusion matrix (CSV and PNG heatmap) and the evaluation JSON", DefaultValueFactory = _ => "evaluation" };
        var name = new Option<string?>("--name") { Description = "name of the files (default: the checkpoint's file name)" }.PlainName();
        var command = new Command("evaluate", "Test loss, accuracy, per-class accuracy and confusion matrix of a model") { weights, arch, device, json, outDir, name, runtime, CommonOptions.Threads() };
        foreach (var o in data.ForEvaluation) command.Options.Add(o);
        command.SetAction(parse =>
        {
            var output = parse.InvocationConfiguration.Output;
            var dev = DeviceChoice.Parse(parse.GetValue(device)!);
            InputRules.CheckActivationMemory(parse.GetValue(data.ImageSize), parse.GetValue(data.BatchSize), training: false);
            var located = DataOptions.Open(parse.GetValue(data.Data)!, parse.GetValue(json) ? TextWriter.Null : output, parse.GetValue(data.Download));
            var test = located.Test.Sample(parse.GetValue(data.TestSubset), parse.GetValue(data.Seed));
            string source = parse.GetValue(weights)!;
            bool onnxFile = source.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase);
            string chosen = parse.GetValue(runtime) ?? (onnxFile ? "onnx" : "torch");
            int imageSize = parse.GetValue(data.ImageSize);
            using var module = Open(source, chosen, onnxFile, parse.GetValue(arch), located.Test.Classes, parse.GetValue(data.Seed));
            if (module is OnnxRuntimeModule ort)
            {
                if (dev.type != TorchSharp.DeviceType.CPU) throw new ArgumentException("--runtime onnx runs on the CPU: leave --device at cpu or auto");
                if (ort.Model.NumClasses != located.Test.Classes.Count)
                    throw new ArgumentException($"--weights '{source}': the model has {ort.Model.NumClasses} outputs, the data {located.Test.Classes.Count} classes");
                if (parse.GetResult(data.ImageSize) is null or { Implicit: true } && ort.Model.ImageSize is int recorded) imageSize = recorded;
            }
            else module.to(dev);
            var loader = new BatchLoader(test, parse.GetValue(data.BatchSize), false, new BatchTransform { ImageSize = imageSize }, module is OnnxRuntimeModule ? TorchSharp.torch.CPU : dev);
            var byClass = Evaluator.EvaluateByClass(module, loader, located.Test.Classes);
            var result = byClass.Overall;
            string w = parse.GetValue(weights)!;
            string label = parse.GetValue(name) ?? (File.Exists(w) ? Path.GetFileNameWithoutExtension(w) : $"{parse.GetValue(arch) ?? ModelLoader.DefaultVariant}_{w}");
            var (report, files) = EvaluationReport.Write(parse.GetValue(outDir)!, label, w, byClass);
            if (parse.GetValue(json)) output.WriteLine(HarnessJson.Serialize(report));
            else
            {
                output.WriteLine($"Test Loss: {result.Loss:F4} | Test Acc: {100 * result.Accuracy:F2}% ({result.Count} images, {imageSize} px, {Describe(module)})");
                EvaluationReport.WritePerClass(output, byClass);
                output.WriteLine($"wrote {files.Heatmap}, {files.PerClass}, {files.Confusion} and {files.Evaluation}");
            }
            return 0;
        });
        return command;
    }

    /// <summary>The model to evaluate: the eager network, or an ONNX Runtime session on the .onnx file or on the
    /// network exported in memory.</summary>
    private static TorchSharp.torch.nn.Module<TorchSharp.torch.Tensor, TorchSharp.torch.Tensor> Open(string source, string runtime,
        bool onnxFile, string? arch, IReadOnlyList<string> classes, ulong seed)
    {
        int threads = TorchSharp.torch.get_num_threads();
        if (runtime == "onnx" && onnxFile) return new OnnxRuntimeModule(OnnxRuntimeModel.Open(source, threads));
        var network = ModelLoader.LoadNetwork(source, arch, classes.Count, Downloads.Resolver(), seed);
        ModelLoader.RequireClasses(network, classes.Count, source);
        if (runtime == "torch") return network.Module;
        using (network) return new OnnxRuntimeModule(OnnxRuntimeModel.Export(network, classes, threads, source));
    }

    private static string Describe(TorchSharp.torch.nn.Module module) => module is OnnxRuntimeModule ort
        ? ort.Model.Quantization is null ? "ONNX Runtime, float" : "ONNX Runtime, int8"
        : "TorchSharp eager";
}
