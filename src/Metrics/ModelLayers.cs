using Harness.Model.Layers;
using static TorchSharp.torch;

namespace Harness.Metrics;

/// <summary>MAC rules for the layer types of Harness.Model: prunable conv/linear (counted from the weight the
/// forward pass uses, i.e. after masks), squeeze-excitation's scale multiplication, stochastic depth (free).</summary>
internal static class ModelLayers
{
    public static LayerDescriptor? Describe(nn.Module module)
    {
        switch (module)
        {
            case PrunableConv2d conv:
                return Weighted(LayerKind.Convolution, conv);
            case PrunableLinear linear:
                return Weighted(LayerKind.Linear, linear);
            case SqueezeExcitation:
                return new LayerDescriptor(LayerKind.ExcitationScale, null, 0, 0, false);
            case StochasticDepth:
                return new LayerDescriptor(LayerKind.Free, null, 0, 0, false);
            default:
                return null;
        }
    }

    private static LayerDescriptor Weighted(LayerKind kind, PrunableLayer layer)
    {
        using var scope = NewDisposeScope();
        return LayerClassifier.WeightDescriptor(kind, layer.EffectiveWeight());
    }
}
