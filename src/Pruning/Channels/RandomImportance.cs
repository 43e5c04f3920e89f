using static TorchSharp.torch;

namespace Harness.Pruning.Channels;

/// <summary>Uniform random scores from the seeded generator (Torch-Pruning's <c>RandomImportance</c>), the baseline
/// every criterion should beat.</summary>
public sealed class RandomImportance : IChannelImportance
{
    public string Name => "Random";
    public string Description => "seeded uniform draws, the baseline";
    public bool NeedsGradients => false;

    public Tensor Score(IReadOnlyDictionary<string, nn.Module> modules, ChannelGroup group, Generator? generator, bool includeDepthwise) =>
        rand(group.Channels, dtype: float64, generator: generator);
}
