using Google.Protobuf;
using Harness.Model.Layers;
using Harness.Model.Networks;
using Harness.OnnxSchema;
using Harness.Storage.Files;
using System.Globalization;
using static Harness.Export.OnnxGraphBuilder;
using static TorchSharp.torch;

namespace Harness.Export;

/// <summary>
/// Writes a network of any architecture Harness builds (<see cref="IPrunableNetwork"/>: EfficientNet, ResNet,
/// MobileNetV2; dense, masked, permanent, channel-pruned, any widths) as a standard ONNX model: opset 17, IR version
/// 8, input <c>input</c> float32 [N, 3, H, W] and output <c>logits</c> [N, classes], N, H and W symbolic
/// (<c>batch</c>, <c>height</c>, <c>width</c>). The graph mirrors torchvision's eval-mode forward of the family
/// (each family writes its own, <see cref="IPrunableNetwork.WriteFeatures"/>, into an <see cref="OnnxForwardGraph"/>): Conv (+ BatchNormalization unless folded), the
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
        var g = new OnnxGraphBuilder(model.Architecture);
        using (no_grad())
        {
            string x = model.WriteFeatures(new OnnxForwardGraph(g, InputName, options.FoldBatchNorm, options.ImageSize));
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

    /// <summary>The weight the forward pass uses (mask folded), as a tensor the caller owns.</summary>
    internal static Tensor Effective(PrunableLayer layer) =>
        layer.IsMasked ? layer.EffectiveWeight() : layer.Weight.detach().clone();
}
