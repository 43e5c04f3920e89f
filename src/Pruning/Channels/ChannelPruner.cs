using Harness.Model.Channels;
using Harness.Model.Layers;
using Harness.Model.Networks;
using Harness.Runtime;
using static TorchSharp.torch;

namespace Harness.Pruning.Channels;

/// <summary>
/// Physical channel pruning of any <see cref="IPrunableNetwork"/>: decides per group which channels go (lowest
/// importance, ties by index), rebuilds the network with the new widths (<see cref="IPrunableNetwork.Rebuild"/>) and
/// copies the kept slices of weights, masks, biases and BatchNorm statistics into it, slicing each tensor by the
/// roles its layer declares (<see cref="ChannelRole"/>): outputs, depthwise channels and BatchNorm features along
/// dimension 0, inputs along dimension 1 of the weight. The result is an ordinary model that trains, saves and
/// rebuilds from its checkpoint.
/// </summary>
public static class ChannelPruner
{
    public static (TNet Model, ChannelPruningReport Report) Prune<TNet>(TNet model, ChannelPruningOptions options)
        where TNet : IPrunableNetwork
    {
        options.Validate();
        var graph = DependencyGraph.Build(model);
        var known = graph.Groups.SelectMany(g => g.Members).Select(m => m.Layer).Concat(model.PrunableLayers().Select(l => l.Name)).ToHashSet(StringComparer.Ordinal);
        foreach (var name in options.IgnoredLayers)
            if (!known.Contains(name))
                throw new ArgumentException($"ignored layer '{name}' is not a layer of this {model.Architecture} network");
        var scores = GroupScores(model, graph, options);
        try
        {
            var keepCounts = new Dictionary<int, int>();
            foreach (var g in graph.Groups)
            {
                keepCounts[g.Id] = LocalKeptWidth(g, options);
            }
            if (options.Global) keepCounts = GlobalCounts(graph, scores, options);
            return PruneChannels(model, graph, Removal(graph, scores, keepCounts));
        }
        finally
        {
            foreach (var s in scores.Values) s.Dispose();
        }
    }

    /// <summary>Prunes each group to the width <paramref name="widths"/> gives it (by group id; a group not named keeps
    /// all its channels), removing its lowest channels by <paramref name="options"/>' importance: what an allocation
    /// that chose the widths itself (<c>--target-latency</c>) builds. A grouped width must split evenly.</summary>
    public static (TNet Model, ChannelPruningReport Report) PruneToWidths<TNet>(TNet model, ChannelPruningOptions options,
        IReadOnlyDictionary<int, int> widths) where TNet : IPrunableNetwork
    {
        options.Validate();
        var graph = DependencyGraph.Build(model);
        var keepCounts = graph.Groups.ToDictionary(g => g.Id, g => widths.TryGetValue(g.Id, out int w) ? w : g.Channels);
        foreach (var g in graph.Groups)
            if (keepCounts[g.Id] < 1 || keepCounts[g.Id] > g.Channels || (g.ChannelGroups > 1 && keepCounts[g.Id] % g.ChannelGroups != 0))
                throw new ArgumentException($"group {g.Id}: width {keepCounts[g.Id]} is not one of its {g.Channels} channels' widths");
        var scores = GroupScores(model, graph, options);
        try
        {
            return PruneChannels(model, graph, Removal(graph, scores, keepCounts));
        }
        finally
        {
            foreach (var s in scores.Values) s.Dispose();
        }
    }

    /// <summary>Each group's channel scores (float64, one per channel) under <paramref name="options"/>' importance, by
    /// group id; the caller disposes them.</summary>
    public static Dictionary<int, Tensor> GroupScores(IPrunableNetwork model, DependencyGraph graph, ChannelPruningOptions options)
    {
        using var generator = new Generator(options.Seed);
        var modules = ChannelImportance.Modules(model);
        return graph.Groups.ToDictionary(g => g.Id, g => ChannelImportance.Score(modules, g, options.Importance, generator, options.DepthwiseInImportance));
    }

    private static Dictionary<int, int[]> Removal(DependencyGraph graph, Dictionary<int, Tensor> scores, Dictionary<int, int> keepCounts)
    {
        var removed = new Dictionary<int, int[]>();
        foreach (var g in graph.Groups)
        {
            int drop = g.Channels - keepCounts[g.Id];
            removed[g.Id] = drop <= 0 ? [] : g.ChannelGroups > 1 ? LowestInEveryGroup(g, scores[g.Id], drop) : Lowest(scores[g.Id], drop);
        }
        return removed;
    }

    /// <summary>The space widths per-group pruning with <paramref name="options"/> gives (no importance is needed for
    /// widths), for <see cref="IPrunableNetwork.Rebuild"/>: what <see cref="Prune{TNet}"/> would build, without weights.</summary>
    public static IReadOnlyDictionary<string, int> PlannedWidths(DependencyGraph graph, ChannelPruningOptions options)
    {
        if (options.Global) throw new ArgumentException("planned widths are those of per-group pruning; global ranking depends on the scores");
        var widths = graph.Groups.ToDictionary(g => g.Space, g => LocalKeptWidth(g, options), StringComparer.Ordinal);
        return graph.SpaceWidths(widths);
    }

    /// <summary>The channels a group keeps under per-group pruning: all of them when an ignored layer pins it, else
    /// <see cref="ChannelPruningOptions.KeptWidth"/> of its original width (its current one unless an iterative
    /// schedule gave <see cref="ChannelPruningOptions.OriginalWidths"/>) at its ratio, never more than it has.</summary>
    public static int LocalKeptWidth(ChannelGroup g, ChannelPruningOptions options)
    {
        if (IsIgnored(g, options)) return g.Channels;
        double ratio = options.GroupRatios.TryGetValue(g.Id, out var r) ? r : options.Ratio;
        int original = options.OriginalWidths is { } o && o.TryGetValue(g.Space, out int w) ? w : g.Channels;
        if (g.ChannelGroups > 1) return GroupedKeptWidth(g.Channels, original, g.ChannelGroups, ratio, options);
        return Math.Min(g.Channels, options.KeptWidth(original, ratio));
    }

    /// <summary>Torch-Pruning's count for channels in <paramref name="groups"/> equal groups: each group of gs
    /// loses n = gs − ⌊gs₀·(1 − ratio)⌋ (gs₀ its original size); round_to then applies to the whole width (keep
    /// C − n rounded down to a multiple of round_to, so each group loses n′ = C − that), and a group that would lose
    /// all its gs channels is left untouched. The kept width is C − groups·n′: every group the same size.</summary>
    internal static int GroupedKeptWidth(int channels, int original, int groups, double ratio, ChannelPruningOptions options)
    {
        ratio = Math.Min(ratio, options.MaxRatio);
        int gs = channels / groups, gs0 = original / groups;
        int n = gs - (int)(gs0 * (1.0 - ratio));
        if (n <= 0) return channels;
        int keep = channels - n;
        keep -= keep % options.RoundTo;
        int perGroup = channels - keep;
        if (perGroup >= gs) return channels;
        return channels - groups * perGroup;
    }

    /// <summary>The same positions of every group: the lowest of the importance averaged over the groups (Torch-Pruning's
    /// <c>imp.view(groups, -1).mean(0)</c>), repeated at each group's start.</summary>
    private static int[] LowestInEveryGroup(ChannelGroup g, Tensor scores, int drop)
    {
        int groups = g.ChannelGroups, gs = g.Channels / groups;
        if (drop % groups != 0) throw new InvalidOperationException($"group {g.Id}: {drop} channels do not split over its {groups} groups");
        using var perPosition = scores.view(groups, gs).mean(new long[] { 0 });
        var positions = Lowest(perPosition, drop / groups);
        return Enumerable.Range(0, groups).SelectMany(k => positions.Select(p => k * gs + p)).ToArray();
    }

    /// <summary>Global ranking: one threshold over the normalised scores of all groups, then each group's count is
    /// rounded like local pruning (multiple of round_to, never empty, capped by the maximum ratio).</summary>
    private static Dictionary<int, int> GlobalCounts(DependencyGraph graph, Dictionary<int, Tensor> scores, ChannelPruningOptions options)
    {
        var eligible = graph.Groups.Where(g => !IsIgnored(g, options)).ToList();
        long total = eligible.Sum(g => (long)g.Channels);
        long toPrune = total - eligible.Sum(g => (long)(int)(g.Channels * (1.0 - options.Ratio)));
        var all = eligible.SelectMany(g => scores[g.Id].data<double>().ToArray().Select(s => (s, g.Id))).OrderBy(x => x.s).Take((int)toPrune);
        var counts = graph.Groups.ToDictionary(g => g.Id, g => g.Channels);
        foreach (var (_, id) in all) counts[id]--;
        return graph.Groups.ToDictionary(g => g.Id, g =>
        {
            double ratio = 1.0 - (double)counts[g.Id] / g.Channels;
            return g.ChannelGroups > 1 ? GroupedKeptWidth(g.Channels, g.Channels, g.ChannelGroups, ratio, options) : options.KeptWidth(g.Channels, ratio);
        });
    }

    /// <summary>A group is kept whole when an ignored layer's own channels (its outputs, a depthwise conv's
    /// channels, a BatchNorm's) belong to it; a layer that only reads the group's channels does not pin it.</summary>
    private static bool IsIgnored(ChannelGroup g, ChannelPruningOptions options) =>
        g.Members.Any(m => options.IgnoredLayers.Contains(m.Layer) && m.Role is ChannelRole.Out or ChannelRole.Depthwise or ChannelRole.BatchNorm);

    private static int[] Lowest(Tensor scores, int count)
    {
        var s = scores.data<double>().ToArray();
        return Enumerable.Range(0, s.Length).OrderBy(i => s[i]).ThenBy(i => i).Take(count).Order().ToArray();
    }

    /// <summary>Removes exactly the given channels (by group id) and returns the smaller model.</summary>
    public static (TNet Model, ChannelPruningReport Report) PruneChannels<TNet>(TNet model, DependencyGraph graph,
        IReadOnlyDictionary<int, int[]> removed) where TNet : IPrunableNetwork
    {
        var keep = new Dictionary<string, long[]>(StringComparer.Ordinal);
        var newWidths = new Dictionary<string, int>(StringComparer.Ordinal);
        var reports = new List<GroupReport>();
        foreach (var g in graph.Groups)
        {
            var gone = removed.TryGetValue(g.Id, out var r) ? r.Distinct().Order().ToArray() : [];
            if (gone.Any(i => i < 0 || i >= g.Channels))
                throw new ArgumentException($"group {g.Id}: channel index outside 0..{g.Channels - 1}");
            if (gone.Length >= g.Channels)
                throw new ArgumentException($"group {g.Id}: cannot remove all {g.Channels} channels");
            var goneSet = gone.ToHashSet();
            if (g.ChannelGroups > 1)
            {
                int gs = g.Channels / g.ChannelGroups;
                var first = gone.Where(i => i < gs).ToHashSet();
                if (gone.Any(i => !first.Contains(i % gs)) || gone.Length != first.Count * g.ChannelGroups)
                    throw new ArgumentException($"group {g.Id}: its channels are {g.ChannelGroups} groups of {gs}, which must lose the same positions each");
            }
            keep[g.Space] = Enumerable.Range(0, g.Channels).Where(i => !goneSet.Contains(i)).Select(i => (long)i).ToArray();
            newWidths[g.Space] = keep[g.Space].Length;
            reports.Add(new GroupReport(g.Id, g.Kind, g.Members.Select(m => m.Layer).Distinct().ToList(), g.Channels, keep[g.Space].Length, gone));
        }
        var spaceWidths = graph.SpaceWidths(newWidths);
        var rebuilt = model.Rebuild(spaceWidths);
        if (rebuilt is not TNet pruned)
        {
            rebuilt.Dispose();
            throw new InvalidOperationException($"{model.GetType().Name}.Rebuild returned a {rebuilt.GetType().Name}");
        }
        try
        {
            // The pruned network lives where the source does, in its precision.
            Placement.Of(model.Module).Apply(pruned.Module);
            var source = model.Module.named_modules().ToDictionary(m => m.name, m => m.module);
            foreach (var (name, layer) in pruned.PrunableLayers())
                if (source[name] is PrunableLayer { IsMasked: true })
                    layer.ApplyMask(ones_like(layer.Weight));
            var target = pruned.Module.state_dict();
            var from = model.Module.state_dict();
            using (no_grad())
            {
                foreach (var (key, t) in target)
                {
                    // The slices are temporaries (a VGG classifier's are hundreds of MB): freed per tensor.
                    using var slices = NewDisposeScope();
                    int dot = key.LastIndexOf('.');
                    string module = key[..dot], param = key[(dot + 1)..];
                    var value = from[key];
                    if (param != "num_batches_tracked" && value.dim() > 0 && graph.LayerRoles.TryGetValue(module, out var roles))
                    {
                        bool isWeight = param is "weight" or "weight_orig" or "weight_mask";
                        var outputs = roles.Where(r => r.Role != ChannelRole.In).ToList();
                        var inputs = roles.Where(r => r.Role == ChannelRole.In).ToList();
                        if (outputs.Count > 0) value = value.index_select(0, tensor(Kept(outputs, keep, value.shape[0]), device: value.device));
                        if (inputs.Count > 0 && isWeight) value = value.index_select(1, tensor(Kept(inputs, keep, value.shape[1]), device: value.device));
                    }
                    if (!value.shape.SequenceEqual(t.shape))
                        throw new InvalidOperationException($"pruning produced {key} of shape [{string.Join(", ", value.shape)}], expected [{string.Join(", ", t.shape)}]");
                    t.copy_(value);
                }
            }
            pruned.Module.train(model.Module.training);
            return (pruned, new ChannelPruningReport(reports, spaceWidths));
        }
        catch
        {
            pruned.Dispose();
            throw;
        }
    }

    /// <summary>The indices of a layer dimension of <paramref name="size"/> elements that stay: in each part a group
    /// owns (its channels from the part's offset, each spanning a block of elements), the kept channels' elements;
    /// every element no group owns stays.</summary>
    private static long[] Kept(IReadOnlyList<LayerRole> parts, IReadOnlyDictionary<string, long[]> keep, long size)
    {
        // A grouped conv's input columns are the positions within a group (every group keeps the same ones).
        if (parts is [{ Groups: > 1, Role: ChannelRole.In } grouped])
        {
            long gs = grouped.Width / grouped.Groups;
            if (gs != size) throw new InvalidOperationException($"space {grouped.Space} in {grouped.Groups} groups of {gs} meets a dimension of {size}");
            return keep[grouped.Space].Where(c => c < gs).ToArray();
        }
        if (parts.Count == 1 && parts[0].Offset == 0 && parts[0].Block == 1 && parts[0].Width == size) return keep[parts[0].Space];
        var kept = new List<long>();
        long next = 0;
        foreach (var p in parts.OrderBy(p => p.Offset))
        {
            long start = (long)p.Offset * p.Block, end = (long)(p.Offset + p.Width) * p.Block;
            if (end > size) throw new InvalidOperationException($"space {p.Space} at {p.Offset} ×{p.Block} runs past the layer's {size} elements");
            for (long i = next; i < start; i++) kept.Add(i);
            foreach (long c in keep[p.Space])
                for (long j = 0; j < p.Block; j++) kept.Add(start + c * p.Block + j);
            next = end;
        }
        for (long i = next; i < size; i++) kept.Add(i);
        return [.. kept];
    }
}
