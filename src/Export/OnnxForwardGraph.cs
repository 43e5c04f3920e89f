using Harness.Model;
using Harness.Model.Layers;
using Harness.Model.Networks;
using TorchSharp.Modules;
using static Harness.Export.OnnxGraphBuilder;
using static TorchSharp.torch;

namespace Harness.Export;

/// <summary>
/// <see cref="IForwardGraph"/> as ONNX nodes (opset 17): Conv (BatchNorm folded into it, or a BatchNormalization
/// node after it), SiLU as Sigmoid·Mul, ReLU, ReLU6 as Clip(0, 6), MaxPool, Add, Mul, GlobalAveragePool, Flatten.
/// Weights are the effective ones (masks folded).
/// </summary>
internal sealed class OnnxForwardGraph(OnnxGraphBuilder g, string input, bool foldBatchNorm, int imageSize = 224) : IForwardGraph
{
    public string Input => input;

    public int ImageSize => imageSize;

    public string ConvNormActivation(string prefix, ConvNormActivation block, string x) =>
        Activation($"{prefix}.2", block.ActivationKind, ConvNorm($"{prefix}.0", block.Conv, $"{prefix}.1", block.Norm, x));

    /// <summary>One Conv with the folded weights, or Conv then BatchNormalization. A norm folded beforehand
    /// (<see cref="BatchNormFolding.Fold"/>) is gone: the conv carries the bias.</summary>
    public string ConvNorm(string convName, PrunableConv2d conv, string normName, BatchNorm2d? norm, string x)
    {
        if (norm is null || foldBatchNorm) return WriteConv(convName, conv, x, norm);
        string y = WriteConv(convName, conv, x, null);
        string scale = g.Initializer($"{normName}.weight", norm.weight!);
        string bias = g.Initializer($"{normName}.bias", norm.bias!);
        string mean = g.Initializer($"{normName}.running_mean", norm.running_mean!);
        string var = g.Initializer($"{normName}.running_var", norm.running_var!);
        return g.Node("BatchNormalization", normName, [y, scale, bias, mean, var], Float("epsilon", (float)norm.eps));
    }

    public string Conv(string name, PrunableConv2d conv, string x) => WriteConv(name, conv, x, null);

    public string Activation(string name, ActivationKind kind, string x) => kind switch
    {
        ActivationKind.None => x,
        ActivationKind.SiLU => Mul(name, x, Sigmoid(name, x)), // opset 17 has no SiLU operator
        ActivationKind.ReLU => g.Node("Relu", name, [x]),
        ActivationKind.ReLU6 => g.Node("Clip", name, [x, Scalar("relu6.min", 0f), Scalar("relu6.max", 6f)]),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };

    public string Sigmoid(string name, string x) => g.Node("Sigmoid", name, [x]);

    public string Add(string name, string a, string b) => g.Node("Add", name, [a, b]);

    public string Mul(string name, string a, string b) => g.Node("Mul", name, [a, b]);

    public string MaxPool(string name, string x, int kernel, int stride, int padding) =>
        g.Node("MaxPool", name, [x], Ints("kernel_shape", kernel, kernel), Ints("strides", stride, stride),
            Ints("pads", padding, padding, padding, padding));

    public string GlobalAveragePool(string name, string x) => g.Node("GlobalAveragePool", name, [x]);

    public string Flatten(string name, string x) => g.Node("Flatten", name, [x], Int("axis", 1));

    public string BatchNorm(string name, BatchNorm2d norm, string x)
    {
        string scale = g.Initializer($"{name}.weight", norm.weight!);
        string bias = g.Initializer($"{name}.bias", norm.bias!);
        string mean = g.Initializer($"{name}.running_mean", norm.running_mean!);
        string var = g.Initializer($"{name}.running_var", norm.running_var!);
        return g.Node("BatchNormalization", name, [x, scale, bias, mean, var], Float("epsilon", (float)norm.eps));
    }

    public string Constant(string name, Tensor value) => g.Initializer(name, value);

    public IReadOnlyList<string> Operator(string opType, string name, IReadOnlyList<string> inputs, int outputs = 1,
        IReadOnlyDictionary<string, object>? attributes = null)
    {
        var attrs = (attributes ?? new Dictionary<string, object>()).Select(a => a.Value switch
        {
            long i => Int(a.Key, i),
            long[] ints => Ints(a.Key, ints),
            float f => Float(a.Key, f),
            float[] fs => Floats(a.Key, fs),
            string text => Text(a.Key, text),
            _ => throw new ArgumentException($"ONNX attribute {a.Key} of {name}: unsupported value type {a.Value?.GetType().Name}"),
        }).ToArray();
        return g.Node(opType, name, inputs, outputs, attrs);
    }

    /// <summary>A float32 scalar initializer shared by every node that names it.</summary>
    private string Scalar(string name, float value)
    {
        if (g.Graph.Initializer.Any(i => i.Name == name)) return name;
        using var t = tensor(value);
        return g.Initializer(name, t);
    }

    /// <summary>A Conv node; with <paramref name="foldInto"/>, that BatchNorm's affine map is folded into the weight
    /// and bias (<see cref="BatchNormFolding.FoldedTensors"/>, the same folding as the model-level transformation), and
    /// the initializers are named <c>….folded_weight</c>.</summary>
    private string WriteConv(string name, PrunableConv2d conv, string x, BatchNorm2d? foldInto)
    {
        using var scope = NewDisposeScope();
        var w = OnnxExporter.Effective(conv);
        var inputs = new List<string> { x };
        if (foldInto is null)
        {
            inputs.Add(g.Initializer($"{name}.weight", w));
            if (conv.Bias is not null) inputs.Add(g.Initializer($"{name}.bias", conv.Bias));
        }
        else
        {
            var (fw, fb) = BatchNormFolding.FoldedTensors(conv, foldInto);
            inputs.Add(g.Initializer($"{name}.folded_weight", fw));
            inputs.Add(g.Initializer($"{name}.folded_bias", fb));
        }
        var geometry = conv.Geometry;
        var padding = geometry.AutoPad == "NOTSET" ? Ints("pads", geometry.Pads) : Text("auto_pad", geometry.AutoPad);
        return g.Node("Conv", name, inputs,
            Ints("kernel_shape", geometry.Kernel), Ints("strides", geometry.Strides), padding,
            Ints("dilations", geometry.Dilations), Int("group", conv.Groups));
    }
}
