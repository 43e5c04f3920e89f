using Harness.Model.Layers;
using TorchSharp.Modules;

namespace Harness.Model.Networks;

/// <summary>
/// A network's eval-mode forward written as graph nodes, one call a node (or a conv with its BatchNorm): the
/// vocabulary in which each family states its own graph (<see cref="IPrunableNetwork.WriteFeatures"/>) and which
/// an exporter implements (Harness.Export writes it as ONNX). Every method returns the name of the value it
/// produces; names are state-dict module names, so a node reads like the module it comes from.
/// </summary>
public interface IForwardGraph
{
    /// <summary>The network's input value (the image batch).</summary>
    string Input { get; }

    /// <summary>The image side the exported model is meant for (<c>export onnx --image-size</c>).</summary>
    int ImageSize { get; }

    /// <summary>A conv followed by its BatchNorm (<paramref name="norm"/> null when folded already).</summary>
    string ConvNorm(string convName, PrunableConv2d conv, string normName, BatchNorm2d? norm, string input);

    /// <summary>A <see cref="ConvNormActivation"/> named <c>prefix.0</c> (conv), <c>prefix.1</c> (norm), <c>prefix.2</c> (activation).</summary>
    string ConvNormActivation(string prefix, ConvNormActivation block, string input);

    /// <summary>A conv without a BatchNorm after it.</summary>
    string Conv(string name, PrunableConv2d conv, string input);

    /// <summary>An activation (<see cref="ActivationKind.None"/> returns <paramref name="input"/>).</summary>
    string Activation(string name, ActivationKind kind, string input);

    string Sigmoid(string name, string input);

    string Add(string name, string a, string b);

    string Mul(string name, string a, string b);

    string MaxPool(string name, string input, int kernel, int stride, int padding);

    string GlobalAveragePool(string name, string input);

    /// <summary>Flattens every dimension after the batch.</summary>
    string Flatten(string name, string input);

    /// <summary>A BatchNorm on its own (no conv directly before it to fold it into).</summary>
    string BatchNorm(string name, BatchNorm2d norm, string input);

    /// <summary>A constant tensor (an initializer named <paramref name="name"/>, float32 or int64 as the tensor is).</summary>
    string Constant(string name, TorchSharp.torch.Tensor value);

    /// <summary>Any other operator of ONNX's default domain (opset 17) with <paramref name="outputs"/> outputs;
    /// attribute values are <c>long</c>, <c>long[]</c>, <c>float</c>, <c>float[]</c> or <c>string</c>.</summary>
    IReadOnlyList<string> Operator(string opType, string name, IReadOnlyList<string> inputs, int outputs = 1,
        IReadOnlyDictionary<string, object>? attributes = null);
}
