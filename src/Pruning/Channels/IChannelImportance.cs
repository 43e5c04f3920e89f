using Harness.Pruning.Criteria;
using System.Text.Json.Serialization;
using static TorchSharp.torch;

namespace Harness.Pruning.Channels;

/// <summary>
/// A channel importance criterion (Torch-Pruning's <c>Importance</c>): scores each channel of a coupled group, the
/// lowest scores pruned first. <see cref="ChannelImportances"/> lists them; adding one is one type and its entry
/// there, and the command line, help texts and study files offer it from then on.
/// </summary>
[JsonConverter(typeof(ChannelImportanceJsonConverter))]
public interface IChannelImportance : INamedCriterion
{
    /// <summary>One float64 score per channel of <paramref name="group"/>, a tensor the caller owns.</summary>
    /// <param name="modules">The model's modules by state-dict name.</param>
    /// <param name="group">The coupled group and its members with their roles.</param>
    /// <param name="generator">The seeded generator of random criteria.</param>
    /// <param name="includeDepthwise">Count depthwise kernels as a member (Torch-Pruning leaves them out).</param>
    Tensor Score(IReadOnlyDictionary<string, nn.Module> modules, ChannelGroup group, Generator? generator, bool includeDepthwise);
}

