using Harness.Model.Channels;
using Harness.Model.Layers;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Harness.Pruning.Channels;

/// <summary>
/// Torch-Pruning's GroupNormImportance reduction, shared by the magnitude-like criteria: each member gives a
/// per-channel score (its element scores summed over the member's slice: conv output rows, conv/linear input
/// columns; a BatchNorm its γ score; biases not counted), the members' scores are averaged, then divided by their
/// mean over the group's channels. Depthwise convolutions take no part by default, as in Torch-Pruning, whose
/// importance only reads layers pruned by the plain conv/linear/BatchNorm handlers. A criterion says what a
/// BatchNorm and a conv/linear weight contribute (null: nothing).
/// </summary>
public abstract class MagnitudeImportance : IChannelImportance
{
    public abstract string Name { get; }
    public abstract string Description { get; }
    public virtual bool NeedsGradients => false;

    /// <summary>Per-channel score of a BatchNorm member (its γ), or null when the criterion does not count them.</summary>
    protected abstract Tensor? NormScore(Tensor gamma);

    /// <summary>Non-negative element scores of rows <paramref name="start"/>… of a conv/linear member's effective
    /// weight (<paramref name="rows"/>: those rows), or null when the criterion does not count them.</summary>
    protected abstract Tensor? WeightScore(PrunableLayer layer, Tensor rows, long start);

    /// <summary>Weights above this many elements are scored in blocks of rows, so that a classifier of 100 M weights
    /// (VGG's) never makes whole-size float32 and float64 temporaries: per row the sum is the same; per column the
    /// blocks' sums are added.</summary>
    private const long ChunkElements = 1L << 22;

    public Tensor Score(IReadOnlyDictionary<string, nn.Module> modules, ChannelGroup group, Generator? generator, bool includeDepthwise)
    {
        using var scope = NewDisposeScope();
        var scores = new List<Tensor>();
        foreach (var m in group.Members)
        {
            var module = modules[m.Layer];
            if (module is BatchNorm2d bn)
            {
                if (bn.weight is not null && NormScore(bn.weight.detach()) is { } s) scores.Add(Part(s.to(float64), m, group.Channels));
                continue;
            }
            if (module is not PrunableLayer layer) continue;
            if (m.Role == ChannelRole.Depthwise && !includeDepthwise) continue;
            var perElement = Reduce(layer, layer.EffectiveWeight().detach(), m.Role == ChannelRole.In);
            if (perElement is null) continue;
            // A grouped conv's input column j serves channel j of every group: Torch-Pruning tiles its score.
            if (m.Role == ChannelRole.In && m.Groups > 1) perElement = perElement.repeat(m.Groups);
            scores.Add(Part(perElement, m, group.Channels));
        }
        if (scores.Count == 0) return ones(group.Channels, dtype: float64).MoveToOuterDisposeScope();
        var mean = stack(scores).mean(new long[] { 0 });
        var norm = mean.mean();
        var result = norm.item<double>() > 0 ? mean / norm : mean;
        return result.MoveToOuterDisposeScope();
    }

    /// <summary>The element scores summed, in float64, per input column (<paramref name="columns"/>) or per output row.</summary>
    private Tensor? Reduce(PrunableLayer layer, Tensor w, bool columns)
    {
        long rows = w.shape[0], perRow = Math.Max(1, w.numel() / Math.Max(1, rows));
        long block = w.numel() > ChunkElements ? Math.Max(1, ChunkElements / perRow) : rows;
        Tensor? total = null;
        var parts = new List<Tensor>();
        for (long start = 0; start < rows; start += block)
        {
            long n = Math.Min(block, rows - start);
            using var scope = NewDisposeScope();
            var a = WeightScore(layer, n == rows ? w : w.narrow(0, start, n), start);
            if (a is null) return null;
            a = a.to(float64);
            if (a.dim() == 2) a = a.unsqueeze(-1).unsqueeze(-1);
            if (columns)
            {
                var s = a.sum(new long[] { 0, 2, 3 });
                total = total is null ? s.MoveToOuterDisposeScope() : total.add_(s);
            }
            else parts.Add(a.sum(new long[] { 1, 2, 3 }).MoveToOuterDisposeScope());
        }
        if (columns) return total;
        if (parts.Count == 1) return parts[0];
        var all = cat(parts, 0);
        foreach (var p in parts) p.Dispose();
        return all;
    }

    /// <summary>A member's per-channel scores from its per-element ones: the group's channels start at the member's
    /// offset in the layer's dimension, each spanning a block of elements (summed).</summary>
    private static Tensor Part(Tensor perElement, ChannelMember m, int channels)
    {
        if (m.Offset == 0 && m.Block == 1 && perElement.shape[0] == channels) return perElement;
        return perElement.narrow(0, (long)m.Offset * m.Block, (long)channels * m.Block).reshape(channels, m.Block).sum(1);
    }
}
