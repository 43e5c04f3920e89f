using Harness.Model.Families;
using Harness.Model.Layers;
using static TorchSharp.torch;

namespace Harness.Metrics;

/// <summary>MAC rules for the layer types of Harness.Model: prunable conv/linear (counted from the weight the
/// forward pass uses, i.e. after masks), squeeze-excitation's scale multiplication, MobileNetV2's functional global
/// pool, stochastic depth (free). ResNet needs no rule of its own: its ReLU and MaxPool are free modules in both
/// conventions and its residual adds are functional (thop does not see them; torchprofile counts aten::add as free).</summary>
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
            case Harness.Model.Families.MobileNetV2 net:
                return new LayerDescriptor(LayerKind.FunctionalAveragePool, null, 0, 0, false) { PooledChannels = net.Widths.Head };
            case GraphNetwork graph:
                return new LayerDescriptor(LayerKind.GraphOperators, null, 0, 0, false) { Graph = graph };
            case StochasticDepth:
                return new LayerDescriptor(LayerKind.Free, null, 0, 0, false);
            case GraphScope { IsLeaf: true }:
                // A graph network's 'constants' module: buffers the graph's operators read (GraphOperators counts them).
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
