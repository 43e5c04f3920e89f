using Harness.Data.Cifar;
using Harness.Data.ImageFolder;
using Harness.Experiments;
using Harness.Experiments.Latency;
using Harness.Export;
using Harness.Model;
using Harness.Model.Import;
using Harness.Model.Networks;
using Harness.Pruning.Channels;
using Harness.Storage.Checkpoints;
using Harness.Storage.Pickle;
using System.IO.Compression;

namespace Harness.Fuzz;

/// <summary>Every reader of untrusted bytes, read the way the commands read it.</summary>
public static class FuzzTargets
{
    public static IReadOnlyList<FuzzTarget> All { get; } =
    [
        new("torch", ".pth", "PyTorch zip checkpoint (zip records, restricted unpickler, tensor views, Harness metadata) loaded as a network, as --weights FILE does",
            path => LoadCheckpoint(path, CheckpointFile.Format.Torch), "torch.dict"),
        new("pickle", ".pth", "data.pkl of a torch zip (restricted unpickler, tensor views), the zip holding every storage it names at its declared size",
            LoadPickle, "pickle.dict"),
        new("safetensors", ".safetensors", "safetensors checkpoint loaded as a network", path => LoadCheckpoint(path, CheckpointFile.Format.SafeTensors), "safetensors.dict"),
        new("sparse", ".hsp", "Harness's sparse checkpoint loaded as a network", path => LoadCheckpoint(path, CheckpointFile.Format.Sparse), "sparse.dict"),
        new("onnx-import", ".onnx", "ONNX model imported as a trainable network (import onnx, --weights FILE.onnx)", ImportOnnx, "onnx.dict"),
        new("onnx-metadata", ".onnx", "an exported model opened by ONNX Runtime with its class names, image size and quantization read (predict, evaluate --runtime onnx)",
            OpenOnnx, "onnx.dict"),
        new("cifar-binary", ".bin", "CIFAR-10 binary batch (data_batch_N.bin)", path => CifarBinaryBatchReader.Read(path)),
        new("cifar-python", "", "CIFAR-10 python batch (a pickled dict)", path => CifarPythonBatchReader.Read(path), "pickle.dict"),
        new("image", ".img", "one image of an image folder, decoded to RGB", path => ImageDecoder.Decode(path)),
        new("study-config", ".json", "study --config FILE: parsed, validated and planned", ReadStudyConfig, "json.dict"),
        new("group-ratios", ".json", "prune channel --group-ratios FILE: read and planned on a small ResNet-18", ReadGroupRatios, "json.dict"),
        new("sensitivity", ".csv", "prune channel --target-latency --sensitivity FILE: a channel scan read as costs for a small ResNet-18", ReadSensitivity, "csv.dict"),
    ];

    public static FuzzTarget Named(string name) => All.FirstOrDefault(t => t.Name == name)
        ?? throw new ArgumentException($"no fuzz target '{name}' (targets: {string.Join(", ", All.Select(t => t.Name))})");

    /// <summary>Loads a checkpoint of one format as <c>--weights FILE</c> does (format by content; inputs of another
    /// format belong to that format's target and are skipped).</summary>
    private static void LoadCheckpoint(string path, CheckpointFile.Format format)
    {
        if (OnnxImporter.LooksLikeOnnx(path) || CheckpointFile.Detect(path) != format) return;
        ModelLoader.LoadNetwork(path).Module.Dispose();
    }

    /// <summary>The input is data.pkl; a first pass with a permissive unpickler lists the storages it names, and
    /// the zip around it holds each at the size it declares (1 MiB at most each, 16 MiB in all), so the checkpoint reader itself reads
    /// the pickle with its own allowed globals, views and limits.</summary>
    private static void LoadPickle(string path)
    {
        var pickle = File.ReadAllBytes(path);
        var storages = new Dictionary<string, long>(StringComparer.Ordinal);
        try
        {
            new RestrictedUnpickler("scan", TorchCheckpoint.AllowedGlobals)
            {
                PersistentLoad = pid =>
                {
                    if (pid is object?[] { Length: 5 } t && t[1] is PyGlobal type && t[2] is string key && t[4] is long numel
                        && TorchCheckpoint.StorageTypes.TryGetValue(type.Name, out var dtype))
                        storages.TryAdd(key, Math.Clamp(numel, 0, 1 << 20) * ElementSize(dtype));
                    return null;
                },
                Construct = (_, _) => null,
            }.Load(pickle);
        }
        catch (Exception ex) when (Harness.Cli.UserError.IsUserError(ex)) { } // the real read below says why
        using (var zip = new ZipArchive(File.Create(path), ZipArchiveMode.Create))
        {
            Add(zip, "archive/data.pkl", pickle);
            long total = 0;
            foreach (var (key, bytes) in storages.Take(1024))
                if (key.Length is > 0 and < 64 && key.All(char.IsAsciiLetterOrDigit) && (total += bytes) <= 16 << 20)
                    Add(zip, $"archive/data/{key}", new byte[bytes]);
            Add(zip, "archive/version", "3\n"u8.ToArray());
        }
        using var sd = TorchCheckpoint.Load(path);
    }

    private static long ElementSize(TorchSharp.torch.ScalarType type)
    {
        using var t = TorchSharp.torch.empty(0, type);
        return t.ElementSize;
    }

    private static void Add(ZipArchive zip, string name, byte[] data)
    {
        using var s = zip.CreateEntry(name, CompressionLevel.NoCompression).Open();
        s.Write(data);
    }

    private static void ImportOnnx(string path)
    {
        if (!OnnxImporter.LooksLikeOnnx(path)) return;
        OnnxImporter.Import(new OnnxImportOptions(path)).Dispose();
    }

    private static void OpenOnnx(string path)
    {
        using var model = OnnxRuntimeModel.Open(path, 1);
        _ = (model.ClassNames?.Count, model.ImageSize, model.NumClasses, model.Quantization, model.Calibration);
    }

    private static void ReadStudyConfig(string path)
    {
        var config = StudyConfig.Load(path);
        config.Validate();
        _ = config.Experiments().Select(e => e.Name).ToList();
    }

    private static readonly Lazy<(IPrunableNetwork Model, DependencyGraph Graph)> SmallResNet = new(() =>
    {
        var model = FuzzSeeds.Small("resnet18").Build();
        return (model, DependencyGraph.Build(model));
    });

    private static void ReadGroupRatios(string path)
    {
        var ratios = GroupRatioFile.Read(path, "--group-ratios");
        var graph = SmallResNet.Value.Graph;
        var known = graph.Groups.Select(g => g.Id).ToHashSet();
        if (ratios.Keys.Any(id => !known.Contains(id))) return; // prune channel refuses these by name before planning
        _ = ChannelPruner.PlannedWidths(graph, new ChannelPruningOptions { Ratio = 0.2, GroupRatios = ratios });
    }

    private static void ReadSensitivity(string path)
    {
        var (model, graph) = SmallResNet.Value;
        var costs = SensitivityCosts.Read(path, graph, "--sensitivity");
        _ = costs(WidthChoices.Of(graph, new ChannelPruningOptions { Ratio = 0.5, RoundTo = 1 }));
        _ = model;
    }
}
