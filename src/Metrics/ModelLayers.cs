using static TorchSharp.torch;

namespace Harness.Metrics;

/// <summary>MAC rules for the layer types of Harness.Model.</summary>
internal static class ModelLayers
{
    public static LayerDescriptor? Describe(nn.Module module) => null;
}
