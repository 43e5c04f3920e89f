using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Harness.Metrics;

/// <summary>Decides how the MAC counter treats each module of a model. Leaf modules of an unknown type that own
/// parameters are refused rather than silently counted as free.</summary>
internal static class LayerClassifier
{
    private static readonly HashSet<Type> FreeTypes =
    [
        typeof(SiLU), typeof(Sigmoid), typeof(ReLU), typeof(ReLU6), typeof(Hardswish), typeof(Hardsigmoid),
        typeof(GELU), typeof(Tanh), typeof(Dropout), typeof(Dropout2d), typeof(Identity), typeof(Flatten),
        typeof(MaxPool2d),
    ];

    /// <summary>The descriptor of <paramref name="module"/>, or null when it is a container whose cost is the sum
    /// of its children.</summary>
    public static LayerDescriptor? Describe(string name, nn.Module module, bool isLeaf)
    {
        switch (module)
        {
            case Conv2d conv:
                return WeightDescriptor(LayerKind.Convolution, conv.weight);
            case Linear linear:
                return WeightDescriptor(LayerKind.Linear, linear.weight);
            case BatchNorm2d bn:
                return new LayerDescriptor(LayerKind.BatchNorm, null, 0, 0,
                    bn.named_parameters(false).Any(p => p.name == "weight"));
            case AdaptiveAvgPool2d:
                return new LayerDescriptor(LayerKind.AdaptiveAvgPool, null, 0, 0, false);
        }

        var special = ModelLayers.Describe(module);
        if (special is not null)
            return special;
        if (!isLeaf)
            return null;
        if (FreeTypes.Contains(module.GetType()))
            return new LayerDescriptor(LayerKind.Free, null, 0, 0, false);
        if (!module.parameters(false).Any())
            throw new NotSupportedException(
                $"module '{name}' of type {module.GetType().Name} has no MAC rule; known leaf types are " +
                "convolutions, Linear, BatchNorm2d, AdaptiveAvgPool2d and parameter-free activations, dropout, " +
                "identity, flatten and max pooling");
        throw new NotSupportedException(
            $"module '{name}' of type {module.GetType().Name} owns parameters but has no MAC rule");
    }

    /// <summary>Descriptor for a weighted layer from the weight its forward pass multiplies with.</summary>
    public static LayerDescriptor WeightDescriptor(LayerKind kind, Tensor effectiveWeight)
    {
        using var scope = NewDisposeScope();
        long nonzero = effectiveWeight.count_nonzero().item<long>();
        return new LayerDescriptor(kind, effectiveWeight.shape, nonzero, effectiveWeight.numel(), false);
    }
}
