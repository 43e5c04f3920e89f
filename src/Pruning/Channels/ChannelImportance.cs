using Harness.Model.Channels;
using Harness.Model.Layers;
using TorchSharp.Modules;
using static TorchSharp.torch;
using Harness.Model.Networks;

namespace Harness.Pruning.Channels;

/// <summary>
/// Scores the channels of a group like Torch-Pruning's GroupNormImportance (MagnitudeImportance): each member gives
/// a per-channel score (|w|ᵖ summed over its slice: conv output rows, conv/linear input columns, BatchNorm γ; biases
/// not counted), the members' scores are averaged, then divided by their mean over the group's channels.
/// Depthwise convolutions take no part in the score by default, as in Torch-Pruning, whose importance only reads
/// layers pruned by the plain conv/linear/BatchNorm handlers (a depthwise conv has a handler of its own);
/// <paramref name="includeDepthwise"/> counts their kernels as one more member.
/// </summary>
public static class ChannelImportance
{
    public static Tensor Score(IPrunableNetwork model, ChannelGroup group, ImportanceKind kind, Generator? generator = null,
        bool includeDepthwise = false) =>
        Score(Modules(model), group, kind, generator, includeDepthwise);

    /// <summary>The model's modules by state-dict name, for scoring many groups of one model.</summary>
    public static IReadOnlyDictionary<string, nn.Module> Modules(IPrunableNetwork model) =>
        model.Module.named_modules().ToDictionary(m => m.name, m => m.module);

    public static Tensor Score(IReadOnlyDictionary<string, nn.Module> modules, ChannelGroup group, ImportanceKind kind,
        Generator? generator = null, bool includeDepthwise = false)
    {
        using var scope = NewDisposeScope();
        if (kind == ImportanceKind.Random)
            return rand(group.Channels, dtype: float64, generator: generator).MoveToOuterDisposeScope();
        var scores = new List<Tensor>();
        foreach (var m in group.Members)
        {
            var module = modules[m.Layer];
            if (module is BatchNorm2d bn)
            {
                if (kind is ImportanceKind.L1 or ImportanceKind.L2 or ImportanceKind.BatchNormScale && bn.weight is not null)
                    scores.Add(kind == ImportanceKind.L2 ? bn.weight.detach().pow(2).to(float64) : bn.weight.detach().abs().to(float64));
                continue;
            }
            if (kind == ImportanceKind.BatchNormScale || module is not PrunableLayer layer) continue;
            if (m.Role == ChannelRole.Depthwise && !includeDepthwise) continue;
            var w = layer.EffectiveWeight().detach();
            if (kind == ImportanceKind.Taylor)
            {
                var g = layer.Weight.grad ?? throw new ArgumentException(
                    "--importance Taylor needs gradients of the model: pass --data (and --calibration-batches) so that calibration batches run forward and backward first");
                w = (w * g).abs();
            }
            var a = kind == ImportanceKind.L2 ? w.pow(2) : w.abs();
            a = a.to(float64);
            if (a.dim() == 2) a = a.unsqueeze(-1).unsqueeze(-1);
            var perChannel = m.Role == ChannelRole.In ? a.sum(new long[] { 0, 2, 3 }) : a.sum(new long[] { 1, 2, 3 });
            scores.Add(perChannel);
        }
        if (scores.Count == 0) return ones(group.Channels, dtype: float64).MoveToOuterDisposeScope();
        var mean = stack(scores).mean(new long[] { 0 });
        var norm = mean.mean();
        var result = norm.item<double>() > 0 ? mean / norm : mean;
        return result.MoveToOuterDisposeScope();
    }
}
