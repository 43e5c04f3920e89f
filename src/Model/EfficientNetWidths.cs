using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;

namespace Harness.Model;

/// <summary>
/// Every channel width of one concrete EfficientNet: a torchvision configuration, or the same network after
/// channel pruning (widths may then differ per layer). A model is rebuilt from these numbers alone.
/// </summary>
public sealed record EfficientNetWidths(int Stem, IReadOnlyList<BlockWidths> Blocks, int Head, int NumClasses,
    double Dropout = 0.2)
{
    public int StageCount => Blocks.Count == 0 ? 0 : Blocks.Max(b => b.Stage);

    /// <summary>torchvision's widths for a configuration (squeeze = max(1, block input / 4)).</summary>
    public static EfficientNetWidths FromConfig(EfficientNetConfig config)
    {
        config.Validate();
        var plan = new List<(StageSpec Spec, int Stage, int Index, int In, int Out, int Stride)>();
        for (int s = 0; s < config.Stages.Count; s++)
        {
            var spec = config.Stages[s];
            int inCh = config.AdjustChannels(spec.InChannels), outCh = config.AdjustChannels(spec.OutChannels);
            int repeats = config.AdjustDepth(spec.Repeats);
            for (int i = 0; i < repeats; i++)
                plan.Add((spec, s + 1, i, i == 0 ? inCh : outCh, outCh, i == 0 ? spec.Stride : 1));
        }
        int total = plan.Count;
        var blocks = plan.Select((p, id) =>
        {
            int expanded = EfficientNetConfig.MakeDivisible(p.In * (double)p.Spec.ExpandRatio);
            return new BlockWidths(p.Stage, p.Index, p.Spec.Kernel, p.Stride,
                HasExpand: expanded != p.In,
                UseResidual: p.Stride == 1 && p.In == p.Out,
                p.In, expanded, Math.Max(1, p.In / 4), p.Out,
                config.StochasticDepthProb * id / total);
        }).ToList();
        int stem = config.AdjustChannels(config.Stages[0].InChannels);
        int head = 4 * config.AdjustChannels(config.Stages[^1].OutChannels);
        return new EfficientNetWidths(stem, blocks, head, config.NumClasses, config.Dropout);
    }

    /// <summary>
    /// Rebuilds the widths of a network from its state-dict tensor shapes alone (masked <c>_orig</c> names are
    /// accepted). Strides come from the stage table of <paramref name="stages"/> (B0's by default), residual
    /// connections from the unpruned architecture: every block after the first of a stage, and a first block
    /// whose stride is 1 and whose input and output shapes agree.
    /// </summary>
    public static EfficientNetWidths FromStateDictShapes(IReadOnlyDictionary<string, long[]> shapes,
        IReadOnlyList<StageSpec>? stages = null, double stochasticDepthProb = 0.2, double dropout = 0.2)
    {
        stages ??= EfficientNetConfig.B0Stages;
        var weights = new Dictionary<string, long[]>();
        foreach (var (key, shape) in shapes)
        {
            if (key.EndsWith(".weight_orig", StringComparison.Ordinal))
                weights[key[..^".weight_orig".Length] + ".weight"] = shape;
            else if (key.EndsWith(".weight", StringComparison.Ordinal))
                weights[key] = shape;
        }

        long[] Need(string key) => weights.TryGetValue(key, out var s)
            ? s
            : throw new InvalidDataException($"state dict has no '{key}' (or '{key[..^".weight".Length]}.weight_orig'): not an EfficientNet");

        var blockKey = new Regex(@"^features\.(\d+)\.(\d+)\.block\.", RegexOptions.CultureInvariant);
        var blockIds = weights.Keys.Select(k => blockKey.Match(k)).Where(m => m.Success)
            .Select(m => (Stage: int.Parse(m.Groups[1].Value), Index: int.Parse(m.Groups[2].Value)))
            .Distinct().OrderBy(b => b.Stage).ThenBy(b => b.Index).ToList();
        if (blockIds.Count == 0)
            throw new InvalidDataException("state dict has no 'features.<stage>.<block>.block.*' keys: not an EfficientNet");
        int stageCount = blockIds.Max(b => b.Stage);
        if (stageCount != stages.Count)
            throw new InvalidDataException(
                $"state dict has {stageCount} stages but the stage table has {stages.Count}");

        int stem = (int)Need("features.0.0.weight")[0];
        int total = blockIds.Count;
        var blocks = new List<BlockWidths>();
        for (int id = 0; id < total; id++)
        {
            var (stage, index) = blockIds[id];
            string p = $"features.{stage}.{index}.block";
            bool hasExpand = weights.ContainsKey($"{p}.3.0.weight"); // expand, depthwise, SE, project
            int d = hasExpand ? 1 : 0;
            var dw = Need($"{p}.{d}.0.weight");
            var fc1 = Need($"{p}.{d + 1}.fc1.weight");
            var proj = Need($"{p}.{d + 2}.0.weight");
            int inCh = hasExpand ? (int)Need($"{p}.0.0.weight")[1] : (int)dw[0];
            int expanded = (int)dw[0];
            int outCh = (int)proj[0];
            int stride = index == 0 ? stages[stage - 1].Stride : 1;
            bool residual = index > 0 || (stride == 1 && inCh == outCh);
            blocks.Add(new BlockWidths(stage, index, (int)dw[2], stride, hasExpand, residual, inCh, expanded,
                (int)fc1[0], outCh, stochasticDepthProb * id / total));
        }
        var head = Need($"features.{stageCount + 1}.0.weight");
        var classifier = Need("classifier.1.weight");
        return new EfficientNetWidths(stem, blocks, (int)head[0], (int)classifier[0], dropout);
    }

    /// <summary>The same network with another number of classes.</summary>
    public EfficientNetWidths WithClasses(int numClasses) => this with { NumClasses = numClasses };

    public bool Equals(EfficientNetWidths? other) =>
        other is not null && Stem == other.Stem && Head == other.Head && NumClasses == other.NumClasses
        && Dropout.Equals(other.Dropout) && Blocks.SequenceEqual(other.Blocks);

    public override int GetHashCode()
    {
        var h = new HashCode();
        h.Add(Stem);
        h.Add(Head);
        h.Add(NumClasses);
        foreach (var b in Blocks) h.Add(b);
        return h.ToHashCode();
    }

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    public string ToJson() => JsonSerializer.Serialize(new WidthsDocument(Stem, Blocks.ToList(), Head, NumClasses, Dropout), JsonOptions);

    public static EfficientNetWidths FromJson(string json)
    {
        var doc = JsonSerializer.Deserialize<WidthsDocument>(json, JsonOptions)
                  ?? throw new InvalidDataException("widths JSON is empty");
        return new EfficientNetWidths(doc.Stem, doc.Blocks, doc.Head, doc.NumClasses, doc.Dropout);
    }

    private sealed record WidthsDocument(int Stem, List<BlockWidths> Blocks, int Head, int NumClasses, double Dropout);
}
