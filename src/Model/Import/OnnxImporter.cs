using Google.Protobuf;
using Harness.Model.Families;
using Harness.Model.Layers;
using Harness.OnnxSchema;
using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace Harness.Model.Import;

/// <summary>What to import: the model, an optional preprocessing graph folded in front of it, and the classes the
/// network must output (null: keep the model's own classifier; a feature extractor then gets
/// <see cref="DefaultClasses"/>).</summary>
public sealed record OnnxImportOptions(string ModelPath, string? PreprocessPath = null, int? NumClasses = null, ulong Seed = 0)
{
    /// <summary>Running-statistics momentum of every BatchNorm in PyTorch's convention (null: the file's own; a CNTK
    /// export's 0.988 is PyTorch's 0.0117, which needs hundreds of batches to forget ImageNet's statistics).</summary>
    public double? BatchNormMomentum { get; init; }

    public const int DefaultClasses = 10;
}

/// <summary>
/// Imports an ONNX CNN as a trainable <see cref="GraphNetwork"/>: initializers become the parameters and buffers
/// of convs, BatchNorms and linear layers (at their state-dict names when the file keeps them, e.g. a
/// torch.onnx export), other operators are normalised into <see cref="GraphOps"/>' vocabulary, a preprocessing
/// graph (ML.NET's RGB → BGR, minus a mean image, on 0–255 pixels) is folded in front so that the network takes
/// Harness's input (RGB in [0, 1] normalised with ImageNet's mean and std), and a network that does not end in the
/// wanted classifier gets a fresh one (the last Linear replaced, or Flatten + Linear after pooled features).
/// One forward pass at the declared input size settles what needs sizes: pools that cover the whole map become
/// global pooling, and the stages for <c>--freeze</c> are the segments between spatial downsamplings.
/// Anything it cannot run is refused with an <see cref="InvalidDataException"/> naming the node.
/// </summary>
public static class OnnxImporter
{
    /// <summary>Largest ONNX file read (protobuf itself stops at 2 GB).</summary>
    public const long MaxFileBytes = 1L << 30;

    /// <summary>ImageNet's mean and std, Harness's input normalisation.</summary>
    private static readonly float[] Mean = [0.485f, 0.456f, 0.406f];
    private static readonly float[] Std = [0.229f, 0.224f, 0.225f];

    /// <summary>The ONNX operators the import translates.</summary>
    public static readonly IReadOnlyList<string> Supported =
    [
        "Conv", "BatchNormalization", "Relu", "Clip", "LeakyRelu", "Sigmoid", "HardSigmoid", "HardSwish", "Add", "Sub",
        "Mul", "Div", "GlobalAveragePool", "AveragePool", "MaxPool", "ReduceMean", "Flatten", "Reshape", "Squeeze",
        "Unsqueeze", "Gemm", "MatMul", "Concat", "Split", "Pad", "Dropout", "Identity", "Constant", "Shape", "Gather", "Cast",
        "ConstantOfShape (constants only)", "Slice (constants only)", "Transpose (constants only)",
    ];

    /// <summary>True when the file's first bytes are those of an ONNX model (a protobuf ModelProto starting with
    /// its ir_version field), not a torch zip, safetensors or Harness sparse checkpoint.</summary>
    public static bool LooksLikeOnnx(string path)
    {
        if (!File.Exists(path)) return false;
        Span<byte> head = stackalloc byte[2];
        using var s = File.OpenRead(path);
        return s.Read(head) == 2 && head[0] == 0x08 && head[1] is >= 1 and <= 20;
    }

    /// <summary>Reads and checks an ONNX file.</summary>
    public static ModelProto ReadModel(string path)
    {
        var info = new FileInfo(path);
        if (!info.Exists) throw new FileNotFoundException($"{path}: no such file", path);
        if (info.Length > MaxFileBytes) throw new InvalidDataException($"{path}: {info.Length} bytes, more than the {MaxFileBytes} an ONNX model may have here");
        ModelProto model;
        try
        {
            model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));
        }
        catch (InvalidProtocolBufferException ex)
        {
            throw new InvalidDataException($"{path}: not an ONNX model (truncated or not protobuf: {ex.Message})", ex);
        }
        if (model.Graph is null || model.Graph.Node.Count == 0 || model.IrVersion is < 3 or > 11)
            throw new InvalidDataException($"{path}: not an ONNX model (no graph, or IR version {model.IrVersion} outside 3–11)");
        long opset = model.OpsetImport.Where(o => o.Domain is "" or "ai.onnx").Select(o => o.Version).DefaultIfEmpty(0).Max();
        if (opset is < 7 or > 21) throw new InvalidDataException($"{path}: opset {opset} of the default domain is outside 7–21");
        if (model.OpsetImport.Any(o => o.Domain is not ("" or "ai.onnx")) && model.Graph.Node.Any(n => n.Domain is not ("" or "ai.onnx")))
            throw new InvalidDataException($"{path}: node '{model.Graph.Node.First(n => n.Domain is not ("" or "ai.onnx")).Name}' is of domain '{model.Graph.Node.First(n => n.Domain is not ("" or "ai.onnx")).Domain}'; only ONNX's default domain is supported");
        return model;
    }

    /// <summary>Imports the model (and its preprocessing) as a network with its weights.</summary>
    public static GraphNetwork Import(OnnxImportOptions options)
    {
        var sd = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            var draft = Translate(options, sd);
            return Finish(draft, sd, options);
        }
        finally
        {
            foreach (var t in sd.Values) t.Dispose();
        }
    }

    private static GraphSpec Translate(OnnxImportOptions options, Dictionary<string, Tensor> sd)
    {
        var model = QdqFolding.Dequantize(ReadModel(options.ModelPath), options.ModelPath);
        var t = new OnnxTranslator(options.ModelPath, model, sd);
        var (c, h, w, batch) = t.DeclaredInput();
        string input = t.Input;
        if (options.PreprocessPath is { } prePath)
        {
            var pre = QdqFolding.Dequantize(ReadModel(prePath), prePath);
            var p = new OnnxTranslator(prePath, pre, sd, prefix: "preprocess/");
            var (pc, ph, pw, _) = p.DeclaredInput();
            if (pc != 3 || ph != h || pw != w)
                throw new InvalidDataException($"{prePath}: its input is {pc}×{ph}×{pw}, the model's {c}×{h}×{w}; a preprocessing graph takes 3-channel images of the model's size");
            // Harness's input (RGB in [0, 1], normalised) back to the 0–255 RGB pixels the preprocessing expects.
            input = "input";
            p.AddConstant("preprocess/to_pixels.scale", tensor(Std.Select(s => 255f * s).ToArray()).reshape(1, 3, 1, 1));
            p.AddConstant("preprocess/to_pixels.shift", tensor(Mean.Select(m => 255f * m).ToArray()).reshape(1, 3, 1, 1));
            p.Emit(new GraphNode { Op = "Mul", Name = "preprocess/to_pixels.scale", Inputs = [input, "preprocess/to_pixels.scale"], Outputs = ["preprocess/pixels.scaled"] });
            p.Emit(new GraphNode { Op = "Add", Name = "preprocess/to_pixels.shift", Inputs = ["preprocess/pixels.scaled", "preprocess/to_pixels.shift"], Outputs = [p.Input] });
            p.TranslateNodes(batch);
            t.Adopt(p, p.Output, t.Input);
        }
        t.TranslateNodes(batch);
        var nodes = options.BatchNormMomentum is { } momentum
            ? t.Nodes.Select(n => n.Op == "BatchNorm"
                ? n with { Floats = new Dictionary<string, double>(n.Floats!) { ["momentum"] = momentum } }
                : n).ToList()
            : t.Nodes;
        return new GraphSpec
        {
            Input = input,
            InputShape = [c, h, w],
            Output = t.Output,
            Nodes = nodes,
            Constants = t.Constants,
            Buffers = t.Buffers,
            Source = $"{Path.GetFileName(options.ModelPath)} ({model.ProducerName} {model.ProducerVersion}, opset {t.Opset})"
                     + (options.PreprocessPath is { } pp ? $" with preprocessing {Path.GetFileName(pp)}" : ""),
        };
    }

    /// <summary>The forward pass at the declared size, then pools, stages and head.</summary>
    private static GraphNetwork Finish(GraphSpec draft, Dictionary<string, Tensor> sd, OnnxImportOptions options)
    {
        Dictionary<string, long[]> shapes;
        using (var probe = new GraphNetwork(new GraphWidths(draft, headless: true)))
        {
            Load(probe, sd, fresh: null);
            probe.eval();
            using var x = zeros(1, draft.InputShape[0], draft.InputShape[1], draft.InputShape[2]);
            try
            {
                shapes = probe.TraceShapes(x);
            }
            catch (Exception ex) when (ex is InvalidOperationException or ArgumentException or ExternalException)
            {
                throw new InvalidDataException($"{options.ModelPath}: the graph does not run on a 1×{string.Join("×", draft.InputShape)} input: {ex.Message}", ex);
            }
        }
        var nodes = draft.Nodes.Select(n => GlobalIfWhole(n, shapes)).ToList();
        string output = draft.Output;
        var head = nodes.LastOrDefault(n => n.Outputs.Contains(output));
        string? fresh = null;
        int classes = options.NumClasses ?? OnnxImportOptions.DefaultClasses;
        if (head is { Op: "Linear" })
        {
            if (options.NumClasses is { } n && n != head.Shape![0])
            {
                int i = nodes.IndexOf(head);
                nodes[i] = head with { Shape = [n, head.Shape[1]], Bias = true };
                fresh = head.Module;
            }
        }
        else
        {
            var shape = shapes[output];
            bool pooled = shape.Length == 4 && shape[2] == 1 && shape[3] == 1 || shape.Length == 2;
            if (!pooled)
                throw new InvalidDataException($"{options.ModelPath}: the output '{output}' is [{string.Join(", ", shape)}], neither a classifier's logits nor pooled features (N×C×1×1 or N×C)");
            var taken = new HashSet<string>(nodes.Where(n => n.Module is not null).Select(n => n.Module!.Split('.')[0]), StringComparer.Ordinal);
            string name = new[] { "fc", "head", "classifier" }.FirstOrDefault(c => !taken.Contains(c)) ?? "harness_head";
            string features = output;
            if (shape.Length == 4)
            {
                nodes.Add(new GraphNode { Op = "Flatten", Name = $"{name}.flatten", Inputs = [output], Outputs = [$"{name}.flatten"], Ints = new Dictionary<string, long[]> { ["axis"] = [1] } });
                features = $"{name}.flatten";
            }
            nodes.Add(new GraphNode { Op = "Linear", Name = name, Module = name, Inputs = [features], Outputs = [name], Shape = [classes, shape[1]], Bias = true });
            output = name;
            fresh = name;
        }
        var spec = draft with { Nodes = nodes, Output = output, Stages = Stages(nodes, shapes) };
        var network = new GraphNetwork(new GraphWidths(spec));
        try
        {
            Load(network, sd, fresh, options.Seed);
            return network;
        }
        catch
        {
            network.Dispose();
            throw;
        }
    }

    /// <summary>An AveragePool whose window covers the whole unpadded map at the declared size (ML.NET ResNet's final
    /// 7×7 pool at 224 px) pools globally, so that the network runs at other sizes.</summary>
    private static GraphNode GlobalIfWhole(GraphNode n, Dictionary<string, long[]> shapes)
    {
        if (n.Op != "AveragePool" || !shapes.TryGetValue(n.Inputs[0], out var s) || s.Length != 4) return n;
        var k = n.IntList("kernel")!;
        bool unpadded = (n.IntList("pads") ?? [0, 0, 0, 0]).All(p => p == 0);
        return unpadded && k[0] == s[2] && k[1] == s[3] && (s[2] > 1 || s[3] > 1)
            ? new GraphNode { Op = "GlobalAveragePool", Name = n.Name, Inputs = n.Inputs, Outputs = n.Outputs }
            : n;
    }

    /// <summary>Stage k holds the conv and BatchNorm modules whose outputs have the k-th largest spatial size; a
    /// layer on globally pooled features (a squeeze-excitation's 1×1 convs) belongs to the stage it sits in.</summary>
    private static List<IReadOnlyList<string>> Stages(List<GraphNode> nodes, Dictionary<string, long[]> shapes)
    {
        var stages = new List<IReadOnlyList<string>>();
        List<string>? current = null;
        long smallest = long.MaxValue;
        foreach (var n in nodes)
        {
            if (n.Op is not ("Conv" or "BatchNorm") || !shapes.TryGetValue(n.Outputs[0], out var s) || s.Length != 4) continue;
            long area = s[2] * s[3];
            if (current is null || area < smallest && area > 1)
            {
                current = [];
                stages.Add(current);
                smallest = area;
            }
            current.Add(n.Module!);
        }
        return stages;
    }

    /// <summary>Copies the imported tensors into the network; the module <paramref name="fresh"/> (a new head) gets
    /// PyTorch's Linear initialisation from <paramref name="seed"/> instead.</summary>
    private static void Load(GraphNetwork network, Dictionary<string, Tensor> sd, string? fresh, ulong seed = 0)
    {
        using var _ = no_grad();
        var missing = new List<string>();
        foreach (var (key, target) in network.state_dict())
        {
            if (key.EndsWith(".num_batches_tracked", StringComparison.Ordinal)) continue;
            if (fresh is not null && key.StartsWith(fresh + ".", StringComparison.Ordinal)) continue;
            if (!sd.TryGetValue(key, out var value)) { missing.Add(key); continue; }
            if (!value.shape.SequenceEqual(target.shape))
                throw new InvalidDataException($"tensor {key}: the graph needs [{string.Join(", ", target.shape)}], the file holds [{string.Join(", ", value.shape)}]");
            target.copy_(value);
        }
        if (missing.Count > 0) throw new InvalidDataException($"the import has no tensor for {string.Join(", ", missing.Take(5))}");
        if (fresh is null) return;
        manual_seed(unchecked((long)seed));
        var head = network.Classifier;
        double bound = 1.0 / Math.Sqrt(head.InFeatures);
        nn.init.uniform_(head.Weight, -bound, bound);
        if (head.Bias is not null) nn.init.uniform_(head.Bias, -bound, bound);
    }
}
