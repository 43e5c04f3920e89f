using Harness.Data;
using Harness.Data.Cifar;
using Harness.Data.ImageFolder;
using Harness.Export;
using Harness.Model;
using Harness.Model.Networks;
using Harness.Storage.Files;
using System.CommandLine;
using TorchSharp;
using static TorchSharp.torch;

namespace Harness.Cli.Commands;

/// <summary>
/// <c>predict</c>: the top-K classes of image files and folders (sorted, recursive, .jpg/.jpeg/.png), decoded as
/// image folders are and transformed as evaluation does (bilinear resize to the image size, ImageNet
/// normalisation), through the model with its BatchNorms folded (eval, no gradients). A file that cannot be
/// predicted is one <c>error:</c> line naming it; the others are still predicted, and the exit code is then 2.
/// </summary>
public static class PredictCommand
{
    private static readonly string[] FolderExtensions = [".jpg", ".jpeg", ".png"];

    /// <summary>The runtimes <c>--runtime</c> names: TorchSharp eager (BatchNorm folded) or ONNX Runtime.</summary>
    private static readonly string[] Runtimes = ["torch", "onnx"];

    public static Command Create()
    {
        var inputs = new Argument<string[]>("images")
        {
            Description = "image files (JPEG, PNG) and folders (every .jpg, .jpeg, .png below them, sorted)",
            Arity = ArgumentArity.OneOrMore,
        };
        var weights = CommonOptions.TrainedWeights(onnx: true);
        var arch = CommonOptions.Arch();
        var top = new Option<int>("--top") { Description = "classes shown per image, most probable first", DefaultValueFactory = _ => 5 }.AtLeast(1);
        var batchSize = new Option<int>("--batch-size") { Description = "images per forward pass", DefaultValueFactory = _ => 32 }.AtLeast(1);
        var imageSize = new Option<int>("--image-size")
        {
            Description = "side the images are resized to (the model's training size; checkpoints do not record it; study: 224)",
            DefaultValueFactory = _ => 224,
        }.ImageSide();
        var runtime = new Option<string?>("--runtime") { Description = "torch (TorchSharp, BatchNorm folded) or onnx (ONNX Runtime; the default for a .onnx --weights file)" };
        var device = CommonOptions.Device();
        var json = CommonOptions.Json();
        var command = new Command("predict", "Top-K classes of images with a model (BatchNorm folded, eval mode)")
        {
            inputs, weights, arch, top, batchSize, imageSize, runtime, device, json,
        };
        command.SetAction(parse =>
        {
            var output = parse.InvocationConfiguration.Output;
            var error = parse.InvocationConfiguration.Error;
            string weightsName = parse.GetValue(weights)!;
            bool onnxFile = weightsName.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase);
            string chosenRuntime = (parse.GetValue(runtime) ?? (onnxFile ? "onnx" : "torch")).ToLowerInvariant();
            if (!Runtimes.Contains(chosenRuntime))
                throw new ArgumentException($"--runtime '{parse.GetValue(runtime)}': expected torch or onnx");
            int size = parse.GetValue(imageSize), batch = parse.GetValue(batchSize);
            InputRules.CheckActivationMemory(size, batch, training: false);
            var dev = DeviceChoice.Parse(parse.GetValue(device)!);
            var (files, failures) = Expand(parse.GetValue(inputs)!);
            foreach (var f in failures) error.WriteLine($"error: {CliRunner.OneLine(f.Message)}");

            IPrunableNetwork? model = null, folded = null;
            OnnxRuntimeModel? onnx = null;
            Func<Tensor, Tensor> logitsOf;
            IReadOnlyList<string> classes;
            if (chosenRuntime == "onnx")
            {
                if (weightsName.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase))
                    onnx = OnnxRuntimeModel.Open(weightsName, get_num_threads());
                else
                {
                    using var network = ModelLoader.LoadNetwork(weightsName, parse.GetValue(arch), 10, Downloads.Resolver());
                    onnx = OnnxRuntimeModel.Export(network,
                        network.NumClasses == Data.Cifar.CifarClasses.Names.Count ? Data.Cifar.CifarClasses.Names : [], get_num_threads(), weightsName);
                }
                if (parse.GetResult(imageSize) is null or { Implicit: true } && onnx.ImageSize is int recorded) size = recorded;
                classes = onnx.ClassNames is { Count: > 0 } names ? names : ClassNames(onnx.NumClasses);
                logitsOf = onnx.Logits;
                dev = CPU;
            }
            else
            {
                model = ModelLoader.LoadNetwork(weightsName, parse.GetValue(arch), CifarClasses.Names.Count, Downloads.Resolver());
                model.Module.to(dev);
                model.Module.eval();
                folded = BatchNormFolding.Fold(model);
                classes = ClassNames(model.NumClasses);
                logitsOf = folded.Module.call;
            }
            using var disposeModel = model;
            using var disposeFolded = folded;
            using var disposeOnnx = onnx;
            int k = Math.Min(parse.GetValue(top), classes.Count);
            var transform = new BatchTransform { ImageSize = size };

            var predictions = new List<Prediction>();
            foreach (var chunk in files.Chunk(batch))
            {
                var decoded = new List<(string Path, DecodedImage Image)>();
                foreach (string path in chunk)
                {
                    try { decoded.Add((path, ImageDecoder.Decode(path))); }
                    catch (Exception ex) when (ex is InvalidDataException or IOException or UnauthorizedAccessException)
                    {
                        failures.Add(new Failure(path, ex.Message));
                        error.WriteLine($"error: {CliRunner.OneLine(ex.Message)}");
                    }
                }
                if (decoded.Count == 0) continue;
                var batchPredictions = Predict(logitsOf, transform, dev, decoded, classes, k);
                predictions.AddRange(batchPredictions);
                if (!parse.GetValue(json))
                    foreach (var p in batchPredictions)
                        output.WriteLine($"{p.Path}: {string.Join(", ", p.Top.Select(c => $"{c.Name} {c.Probability:F4}"))}");
            }

            if (parse.GetValue(json))
                output.WriteLine(HarnessJson.Serialize(new PredictReport(weightsName, chosenRuntime, size, predictions, failures)));
            return failures.Count > 0 ? UserError.ExitCode : 0;
        });
        return command;
    }

    /// <summary>The files to predict, in order: a file as given, a folder's .jpg/.jpeg/.png files recursively,
    /// sorted by path; a missing path or a folder without images is a failure.</summary>
    private static (List<string> Files, List<Failure> Failures) Expand(IEnumerable<string> inputs)
    {
        var files = new List<string>();
        var failures = new List<Failure>();
        foreach (string input in inputs)
        {
            if (File.Exists(input)) files.Add(input);
            else if (Directory.Exists(input))
            {
                var found = Directory.EnumerateFiles(input, "*", SearchOption.AllDirectories)
                    .Where(f => FolderExtensions.Contains(Path.GetExtension(f).ToLowerInvariant()))
                    .Order(StringComparer.Ordinal).ToList();
                if (found.Count == 0) failures.Add(new Failure(input, $"{input}: folder holds no .jpg, .jpeg or .png files"));
                files.AddRange(found);
            }
            else failures.Add(new Failure(input, $"{input}: no such file or folder"));
        }
        return (files, failures);
    }

    /// <summary>CIFAR-10's names for a 10-class head (checkpoints record no class names); <c>class N</c> otherwise.</summary>
    private static IReadOnlyList<string> ClassNames(int count) =>
        count == CifarClasses.Names.Count ? CifarClasses.Names : Enumerable.Range(0, count).Select(i => $"class {i}").ToList();

    private static List<Prediction> Predict(Func<Tensor, Tensor> logitsOf, BatchTransform transform, Device device,
        List<(string Path, DecodedImage Image)> images, IReadOnlyList<string> classes, int k)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        // Each image is transformed on its own (sizes may differ), exactly as a batch of one in the data pipeline.
        var inputs = images.Select(i =>
            transform.Apply(tensor(i.Image.Chw, new long[] { 1, 3, i.Image.Height, i.Image.Width }).to(device), null)).ToList();
        var probabilities = nn.functional.softmax(logitsOf(cat(inputs, 0)), 1);
        var (values, indices) = probabilities.topk(k, 1);
        var p = values.to(ScalarType.Float64).cpu().data<double>().ToArray();
        var idx = indices.cpu().data<long>().ToArray();
        return images.Select((img, row) => new Prediction(img.Path,
            Enumerable.Range(0, k).Select(j => new ClassProbability(classes[(int)idx[row * k + j]], (int)idx[row * k + j], p[row * k + j])).ToList()))
            .ToList();
    }

    private sealed record ClassProbability(string Name, int Index, double Probability);

    private sealed record Prediction(string Path, IReadOnlyList<ClassProbability> Top);

    private sealed record Failure(string Path, string Message);

    private sealed record PredictReport(string Weights, string Runtime, int ImageSize, IReadOnlyList<Prediction> Predictions,
        IReadOnlyList<Failure> Errors);
}
