using static TorchSharp.torch;

namespace Harness.Metrics;

/// <summary>MACs of a model from one real forward pass (see <see cref="ForwardProfiler"/>).</summary>
public static class MacCounter
{
    /// <summary>The dense MACs of a network at an input side under thop's rules: the figure budgets, schedules and
    /// benchmarks compare.</summary>
    public static long ThopMacs(nn.Module<Tensor, Tensor> model, int imageSize) => Count(model, imageSize).Total(MacConvention.Thop);

    /// <summary>Counts the MACs of every layer for a batch of <paramref name="batchSize"/> images of
    /// <paramref name="imageSize"/>² pixels.</summary>
    public static MacReport Count(nn.Module<Tensor, Tensor> model, int imageSize = 224, int batchSize = 1) =>
        ForwardProfiler.Profile(model, imageSize, batchSize).Macs;
}
