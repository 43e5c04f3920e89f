using System.Globalization;
using System.Text.Json;
using Google.Protobuf;
using Harness.Export.Onnx;
using Harness.Model;
using Harness.Model.Channels;
using Harness.Storage.Checkpoints;
using Harness.Storage.Files;
using Harness.Model.Layers;
using static Harness.Export.OnnxGraphBuilder;
using static TorchSharp.torch;

namespace Harness.Export;

/// <summary>
/// Writes a network of any architecture Harness builds (<see cref="IPrunableNetwork"/>: EfficientNet, ResNet,
/// MobileNetV2; dense, masked, permanent, channel-pruned, any widths) as a standard ONNX model: opset 17, IR version
/// 8, input <c>input</c> float32 [N, 3, H, W] and output <c>logits</c> [N, classes], N, H and W symbolic
/// (<c>batch</c>, <c>height</c>, <c>width</c>). The graph mirrors torchvision's eval-mode forward of the family
/// (one graph writer per family, <see cref="Writers"/>): Conv (+ BatchNormalization unless folded), the
/// activation (SiLU as Sigmoid·Mul, ReLU, ReLU6 as Clip(0, 6)), squeeze-excitation, max pooling, the residual Add
/// where a block has one (stochastic depth and dropout are identities in eval); GlobalAveragePool → Flatten → Gemm.
/// Masks are folded into the weights.
/// </summary>
public static class OnnxExporter
{
    public const int Opset = 17;
    public const long IrVersion = 8;
    public const string InputName = "input";
    public const string OutputName = "logits";

    /// <summary>The graph writer of each architecture family: it adds the nodes from <see cref="InputName"/> to the
    /// classifier's input (the pooled, flattened features) and returns that value's name.</summary>
    private static readonly IReadOnlyDictionary<string, Func<OnnxGraphBuilder, IPrunableNetwork, bool, string>> Writers =
        new Dictionary<string, Func<OnnxGraphBuilder, IPrunableNetwork, bool, string>>
        {
            [EfficientNetArchitecture.FamilyName] = (g, m, fold) => EfficientNetFeatures(g, (EfficientNet)m, fold),
            [ResNetArchitecture.FamilyName] = (g, m, fold) => ResNetFeatures(g, (ResNet)m, fold),
            [MobileNetV2Architecture.FamilyName] = (g, m, fold) => MobileNetV2Features(g, (MobileNetV2)m, fold),
        };

    /// <summary>The families <see cref="Write"/> can export.</summary>
    public static IReadOnlyCollection<string> Families => Writers.Keys.ToList();

    /// <summary>Writes the model atomically (temporary name, then rename) to <paramref name="path"/>.</summary>
    public static void Write(IPrunableNetwork model, string path, OnnxExportOptions options)
    {
        var bytes = ToBytes(model, options);
        AtomicFile.Write(path, s => s.Write(bytes));
    }

    public static byte[] ToBytes(IPrunableNetwork model, OnnxExportOptions options) => Build(model, options).ToByteArray();

    internal static ModelProto Build(IPrunableNetwork model, OnnxExportOptions options)
    {
        options.Validate(model.NumClasses);
        if (!Writers.TryGetValue(model.Architecture, out var writer))
            throw new NotSupportedException($"ONNX export has no graph writer for {model.Architecture} networks (known: {string.Join(", ", Writers.Keys)})");
        var g = new OnnxGraphBuilder(model.Architecture);
        using (no_grad())
        {
            string x = writer(g, model, options.FoldBatchNorm);
            var linear = model.Classifier;
            string name = model.PrunableLayers().Single(l => ReferenceEquals(l.Layer, linear)).Name;
            using var w = Effective(linear);
            string wName = g.Initializer($"{name}.weight", w);
            string bName = g.Initializer($"{name}.bias", linear.Bias!);
            g.Node("Gemm", name, [x, wName, bName], Int("transB", 1));
            g.NameLastOutput(OutputName);
        }
        g.Graph.Input.Add(FloatTensor(InputName, "batch", 3L, "height", "width"));
        g.Graph.Output.Add(FloatTensor(OutputName, "batch", (long)model.NumClasses));

        var proto = new ModelProto
        {
            IrVersion = IrVersion,
            ProducerName = "Harness",
            ProducerVersion = options.HarnessVersion,
            ModelVersion = 1,
            DocString = $"{model.Architecture} (torchvision layout) exported by Harness",
            Graph = g.Graph,
        };
        proto.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = Opset });
        foreach (var (key, value) in Metadata(options))
            proto.MetadataProps.Add(new StringStringEntryProto { Key = key, Value = value });
        return proto;
    }

    private static string EfficientNetFeatures(OnnxGraphBuilder g, EfficientNet model, bool fold)
    {
        string x = ConvNormAct(g, "features.0", model.Stem, InputName, fold);
        foreach (var block in model.Blocks)
            x = Block(g, $"features.{block.Widths.Stage}.{block.Widths.Index}", block, x, fold);
        x = ConvNormAct(g, $"features.{model.Widths.StageCount + 1}", model.Head, x, fold);
        return Pool(g, x);
    }

    /// <summary>torchvision's ResNet: conv1 → bn1 → relu → maxpool, the blocks (ReLU after each BatchNorm but the last,
    /// then after the add of the shortcut), global average pooling.</summary>
    private static string ResNetFeatures(OnnxGraphBuilder g, ResNet model, bool fold)
    {
        string x = ConvNorm(g, "conv1", model.Conv1, "bn1", model.Bn1, InputName, fold);
        x = g.Node("Relu", "relu", [x]);
        x = g.Node("MaxPool", "maxpool", [x], Ints("kernel_shape", 3, 3), Ints("strides", 2, 2), Ints("pads", 1, 1, 1, 1));
        foreach (var block in model.Blocks)
        {
            string p = block.Widths.Prefix, y;
            switch (block)
            {
                case BasicBlock b:
                    y = g.Node("Relu", $"{p}.relu1", [ConvNorm(g, $"{p}.conv1", b.Conv1, $"{p}.bn1", b.Bn1, x, fold)]);
                    y = ConvNorm(g, $"{p}.conv2", b.Conv2, $"{p}.bn2", b.Bn2, y, fold);
                    break;
                case Bottleneck b:
                    y = g.Node("Relu", $"{p}.relu1", [ConvNorm(g, $"{p}.conv1", b.Conv1, $"{p}.bn1", b.Bn1, x, fold)]);
                    y = g.Node("Relu", $"{p}.relu2", [ConvNorm(g, $"{p}.conv2", b.Conv2, $"{p}.bn2", b.Bn2, y, fold)]);
                    y = ConvNorm(g, $"{p}.conv3", b.Conv3, $"{p}.bn3", b.Bn3, y, fold);
                    break;
                default:
                    throw new NotSupportedException($"{p}: no ONNX graph for a {block.GetType().Name}");
            }
            string shortcut = block.Downsample is null ? x : ConvNormAct(g, $"{p}.downsample", block.Downsample, x, fold);
            x = g.Node("Relu", $"{p}.relu", [g.Node("Add", p, [y, shortcut])]);
        }
        return Pool(g, x);
    }

    /// <summary>torchvision's MobileNetV2: features.0 (conv-BN-ReLU6), the inverted residuals (expand, depthwise,
    /// linear projection, the add where the block has one), features.18, global average pooling.</summary>
    private static string MobileNetV2Features(OnnxGraphBuilder g, MobileNetV2 model, bool fold)
    {
        string x = ConvNormAct(g, "features.0", model.Stem, InputName, fold);
        for (int i = 0; i < model.Blocks.Count; i++)
        {
            var block = model.Blocks[i];
            string p = $"features.{i + 1}.conv", y = x;
            int part = 0;
            if (block.Expand is not null) y = ConvNormAct(g, $"{p}.{part++}", block.Expand, y, fold);
            y = ConvNormAct(g, $"{p}.{part++}", block.Depthwise, y, fold);
            y = ConvNorm(g, $"{p}.{part}", block.Project, $"{p}.{part + 1}", block.ProjectNorm, y, fold);
            x = block.UseResidual ? g.Node("Add", $"features.{i + 1}", [y, x]) : y;
        }
        x = ConvNormAct(g, $"features.{model.Blocks.Count + 1}", model.Head, x, fold);
        return Pool(g, x);
    }

    private static string Pool(OnnxGraphBuilder g, string x) =>
        g.Node("Flatten", "flatten", [g.Node("GlobalAveragePool", "avgpool", [x])], Int("axis", 1));

    private static IEnumerable<(string, string)> Metadata(OnnxExportOptions o)
    {
        yield return (OnnxMetadataKeys.ClassNames, HarnessJson.Serialize(o.ClassNames, indented: false));
        yield return (OnnxMetadataKeys.ImageSize, o.ImageSize.ToString(CultureInfo.InvariantCulture));
        yield return (OnnxMetadataKeys.Mean, HarnessJson.Serialize(o.Mean, indented: false));
        yield return (OnnxMetadataKeys.Std, HarnessJson.Serialize(o.Std, indented: false));
        yield return (OnnxMetadataKeys.SourceSha256, o.SourceSha256);
        yield return (OnnxMetadataKeys.HarnessVersion, o.HarnessVersion);
        yield return (OnnxMetadataKeys.BatchNorm, o.FoldBatchNorm ? "folded" : "unfolded");
        yield return (OnnxMetadataKeys.Input,
            "NCHW float32 RGB, pixels scaled to [0, 1] then normalised with mean and std; trained at image_size × image_size, H and W dynamic");
    }

    private static string Block(OnnxGraphBuilder g, string prefix, MBConv block, string input, bool fold)
    {
        string x = input;
        int part = 0;
        if (block.Expand is not null) x = ConvNormAct(g, $"{prefix}.block.{part++}", block.Expand, x, fold);
        x = ConvNormAct(g, $"{prefix}.block.{part++}", block.Depthwise, x, fold);
        x = SqueezeExcitation(g, $"{prefix}.block.{part++}", block.Se, x);
        x = ConvNormAct(g, $"{prefix}.block.{part}", block.Project, x, fold);
        if (block.UseResidual) x = g.Node("Add", prefix, [x, input]);
        return x;
    }

    private static string SqueezeExcitation(OnnxGraphBuilder g, string prefix, SqueezeExcitation se, string input)
    {
        string s = g.Node("GlobalAveragePool", $"{prefix}.avgpool", [input]);
        s = Conv(g, $"{prefix}.fc1", se.Fc1, s, null);
        s = Silu(g, $"{prefix}.activation", s);
        s = Conv(g, $"{prefix}.fc2", se.Fc2, s, null);
        s = g.Node("Sigmoid", $"{prefix}.scale_activation", [s]);
        return g.Node("Mul", prefix, [input, s]);
    }

    private static string ConvNormAct(OnnxGraphBuilder g, string prefix, ConvNormActivation cna, string input, bool fold)
    {
        string x = ConvNorm(g, $"{prefix}.0", cna.Conv, $"{prefix}.1", cna.Norm, input, fold);
        return Activation(g, $"{prefix}.2", cna.ActivationKind, x);
    }

    /// <summary>A conv followed by its BatchNorm: one Conv with the folded weights, or Conv then BatchNormalization.</summary>
    private static string ConvNorm(OnnxGraphBuilder g, string convName, PrunableConv2d conv, string normName,
        TorchSharp.Modules.BatchNorm2d? norm, string input, bool fold)
    {
        // A norm folded beforehand (Harness.Model.BatchNormFolding.Fold) is gone: the conv carries the bias.
        if (norm is null || fold) return Conv(g, convName, conv, input, norm);
        string x = Conv(g, convName, conv, input, null);
        string scale = g.Initializer($"{normName}.weight", norm.weight!);
        string bias = g.Initializer($"{normName}.bias", norm.bias!);
        string mean = g.Initializer($"{normName}.running_mean", norm.running_mean!);
        string var = g.Initializer($"{normName}.running_var", norm.running_var!);
        return g.Node("BatchNormalization", normName, [x, scale, bias, mean, var], Float("epsilon", (float)norm.eps));
    }

    private static string Activation(OnnxGraphBuilder g, string name, ActivationKind kind, string input) => kind switch
    {
        ActivationKind.None => input,
        ActivationKind.SiLU => Silu(g, name, input),
        ActivationKind.ReLU => g.Node("Relu", name, [input]),
        ActivationKind.ReLU6 => g.Node("Clip", name, [input, Scalar(g, "relu6.min", 0f), Scalar(g, "relu6.max", 6f)]),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };

    /// <summary>A float32 scalar initializer shared by every node that names it.</summary>
    private static string Scalar(OnnxGraphBuilder g, string name, float value)
    {
        if (g.Graph.Initializer.Any(i => i.Name == name)) return name;
        using var t = tensor(value);
        return g.Initializer(name, t);
    }

    /// <summary>A Conv node; with <paramref name="foldInto"/>, that BatchNorm's affine map is folded into the
    /// weight and bias (<see cref="Harness.Model.BatchNormFolding.FoldedTensors"/>, the same folding as the
    /// model-level transformation), and the initializers are named <c>….folded_weight</c>.</summary>
    private static string Conv(OnnxGraphBuilder g, string name, PrunableConv2d conv, string input,
        TorchSharp.Modules.BatchNorm2d? foldInto)
    {
        using var scope = NewDisposeScope();
        var w = Effective(conv);
        var inputs = new List<string> { input };
        if (foldInto is null)
        {
            inputs.Add(g.Initializer($"{name}.weight", w));
            if (conv.Bias is not null) inputs.Add(g.Initializer($"{name}.bias", conv.Bias));
        }
        else
        {
            var (fw, fb) = Harness.Model.BatchNormFolding.FoldedTensors(conv, foldInto);
            inputs.Add(g.Initializer($"{name}.folded_weight", fw));
            inputs.Add(g.Initializer($"{name}.folded_bias", fb));
        }
        long k = conv.KernelSize, s = conv.Stride, p = conv.Padding;
        return g.Node("Conv", name, inputs,
            Ints("kernel_shape", k, k), Ints("strides", s, s), Ints("pads", p, p, p, p), Ints("dilations", 1, 1),
            Int("group", conv.Groups));
    }

    /// <summary>SiLU as x · sigmoid(x) (opset 17 has no SiLU operator).</summary>
    private static string Silu(OnnxGraphBuilder g, string name, string input)
    {
        string sig = g.Node("Sigmoid", name, [input]);
        return g.Node("Mul", name, [input, sig]);
    }

    /// <summary>The weight the forward pass uses (mask folded), as a tensor the caller owns.</summary>
    private static Tensor Effective(PrunableLayer layer) =>
        layer.IsMasked ? layer.EffectiveWeight() : layer.Weight.detach().clone();
}
