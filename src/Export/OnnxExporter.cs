using System.Globalization;
using System.Text.Json;
using Google.Protobuf;
using Harness.Export.Onnx;
using Harness.Model;
using Harness.Model.Checkpoints;
using Harness.Model.Layers;
using static Harness.Export.OnnxGraphBuilder;
using static TorchSharp.torch;

namespace Harness.Export;

/// <summary>
/// Writes an <see cref="EfficientNet"/> (dense, masked, permanent, channel-pruned, any width multipliers) as a
/// standard ONNX model: opset 17, IR version 8, input <c>input</c> float32 [N, 3, H, W] and output <c>logits</c>
/// [N, classes], N, H and W symbolic (<c>batch</c>, <c>height</c>, <c>width</c>). The graph mirrors torchvision's
/// eval-mode module tree: Conv (+ BatchNormalization unless folded) + Sigmoid·Mul for SiLU; squeeze-excitation as
/// GlobalAveragePool → Conv → SiLU → Conv → Sigmoid → Mul; the residual Add where the block has one (stochastic
/// depth and dropout are identities in eval); GlobalAveragePool → Flatten → Gemm. Masks are folded into the weights.
/// </summary>
public static class OnnxExporter
{
    public const int Opset = 17;
    public const long IrVersion = 8;
    public const string InputName = "input";
    public const string OutputName = "logits";

    /// <summary>Writes the model atomically (temporary name, then rename) to <paramref name="path"/>.</summary>
    public static void Write(EfficientNet model, string path, OnnxExportOptions options)
    {
        var bytes = ToBytes(model, options);
        AtomicFile.Write(path, s => s.Write(bytes));
    }

    public static byte[] ToBytes(EfficientNet model, OnnxExportOptions options) => Build(model, options).ToByteArray();

    internal static ModelProto Build(EfficientNet model, OnnxExportOptions options)
    {
        options.Validate(model.Widths.NumClasses);
        var g = new OnnxGraphBuilder("efficientnet");
        using (no_grad())
        {
            string x = InputName;
            x = ConvNormAct(g, "features.0", model.Stem, x, options.FoldBatchNorm);
            foreach (var block in model.Blocks)
                x = Block(g, $"features.{block.Widths.Stage}.{block.Widths.Index}", block, x, options.FoldBatchNorm);
            x = ConvNormAct(g, $"features.{model.Widths.StageCount + 1}", model.Head, x, options.FoldBatchNorm);
            x = g.Node("GlobalAveragePool", "avgpool", [x]);
            x = g.Node("Flatten", "flatten", [x], Int("axis", 1));
            var linear = model.Classifier;
            using var w = Effective(linear);
            string wName = g.Initializer("classifier.1.weight", w);
            string bName = g.Initializer("classifier.1.bias", linear.Bias!);
            g.Node("Gemm", "classifier.1", [x, wName, bName], Int("transB", 1));
            g.NameLastOutput(OutputName);
        }
        g.Graph.Input.Add(FloatTensor(InputName, "batch", 3L, "height", "width"));
        g.Graph.Output.Add(FloatTensor(OutputName, "batch", (long)model.Widths.NumClasses));

        var proto = new ModelProto
        {
            IrVersion = IrVersion,
            ProducerName = "Harness",
            ProducerVersion = options.HarnessVersion,
            ModelVersion = 1,
            DocString = "EfficientNet (torchvision layout) exported by Harness",
            Graph = g.Graph,
        };
        proto.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = Opset });
        foreach (var (key, value) in Metadata(options))
            proto.MetadataProps.Add(new StringStringEntryProto { Key = key, Value = value });
        return proto;
    }

    private static IEnumerable<(string, string)> Metadata(OnnxExportOptions o)
    {
        yield return (OnnxMetadataKeys.ClassNames, JsonSerializer.Serialize(o.ClassNames));
        yield return (OnnxMetadataKeys.ImageSize, o.ImageSize.ToString(CultureInfo.InvariantCulture));
        yield return (OnnxMetadataKeys.Mean, JsonSerializer.Serialize(o.Mean));
        yield return (OnnxMetadataKeys.Std, JsonSerializer.Serialize(o.Std));
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
        var norm = cna.Norm;
        string x;
        if (norm is null)
        {
            // A model folded beforehand (Harness.Model.BatchNormFolding.Fold): the conv carries the bias.
            x = Conv(g, $"{prefix}.0", cna.Conv, input, null);
        }
        else if (fold)
        {
            x = Conv(g, $"{prefix}.0", cna.Conv, input, norm);
        }
        else
        {
            x = Conv(g, $"{prefix}.0", cna.Conv, input, null);
            string scale = g.Initializer($"{prefix}.1.weight", norm.weight!);
            string bias = g.Initializer($"{prefix}.1.bias", norm.bias!);
            string mean = g.Initializer($"{prefix}.1.running_mean", norm.running_mean!);
            string var = g.Initializer($"{prefix}.1.running_var", norm.running_var!);
            x = g.Node("BatchNormalization", $"{prefix}.1", [x, scale, bias, mean, var], Float("epsilon", (float)norm.eps));
        }
        return cna.Activation is null ? x : Silu(g, $"{prefix}.2", x);
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
