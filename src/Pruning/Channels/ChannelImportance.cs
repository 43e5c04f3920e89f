using Harness.Model.Networks;
using static TorchSharp.torch;

namespace Harness.Pruning.Channels;

/// <summary>Scores a group's channels with a criterion (<see cref="IChannelImportance"/>, listed by
/// <see cref="ChannelImportances"/>).</summary>
public static class ChannelImportance
{
    public static Tensor Score(IPrunableNetwork model, ChannelGroup group, IChannelImportance importance, Generator? generator = null,
        bool includeDepthwise = false) =>
        Score(Modules(model), group, importance, generator, includeDepthwise);

    /// <summary>The model's modules by state-dict name, for scoring many groups of one model.</summary>
    public static IReadOnlyDictionary<string, nn.Module> Modules(IPrunableNetwork model) =>
        model.Module.named_modules().ToDictionary(m => m.name, m => m.module);

    public static Tensor Score(IReadOnlyDictionary<string, nn.Module> modules, ChannelGroup group, IChannelImportance importance,
        Generator? generator = null, bool includeDepthwise = false) =>
        importance.Score(modules, group, generator, includeDepthwise);
}
