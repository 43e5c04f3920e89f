using Harness.Model.Channels;
using Harness.Model.Networks;
using Harness.Storage.Files;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Harness.Model.Families;

/// <summary>
/// Every channel width of one concrete EfficientNet: a torchvision configuration, or the same network after
/// channel pruning (widths may then differ per layer). A model is rebuilt from these numbers alone.
/// </summary>
public sealed record EfficientNetWidths(int Stem, IReadOnlyList<MBConvWidths> Blocks, int Head, int NumClasses,
    double Dropout = 0.2) : INetworkWidths
{
    public string Architecture => EfficientNetArchitecture.FamilyName;

    public IPrunableNetwork Build() => new EfficientNet(this);

    public int StageCount => Blocks.Count == 0 ? 0 : Blocks.Max(b => b.Stage);

    /// <summary>torchvision's widths for a configuration (squeeze = max(1, block input / 4)).</summary>
    public static EfficientNetWidths FromConfig(EfficientNetConfig config)
    {
        config.Validate();
        var plan = new List<(EfficientNetStage Spec, int Stage, int Index, int In, int Out, int Stride)>();
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
            return new MBConvWidths(p.Stage, p.Index, p.Spec.Kernel, p.Stride,
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
        IReadOnlyList<EfficientNetStage>? stages = null, double stochasticDepthProb = 0.2, double dropout = 0.2)
    {
        stages ??= EfficientNetConfig.B0Stages;
        var weights = new WeightShapeReader(shapes, "an EfficientNet");
        var blockKey = new Regex(@"^features\.(\d{1,9})\.(\d{1,9})\.block\.", RegexOptions.CultureInvariant);
        var blockIds = weights.StagedBlocks(blockKey,
            k => k.StartsWith("features.", StringComparison.Ordinal) && k.Contains(".block.", StringComparison.Ordinal),
            "features.<stage>.<block>.block.*");
        int stageCount = blockIds.Max(b => b.Stage);
        if (stageCount != stages.Count || blockIds.Min(b => b.Stage) < 1)
            throw new InvalidDataException(
                $"state dict has stages {blockIds.Min(b => b.Stage)}–{stageCount} but the stage table has 1–{stages.Count}");

        int stem = weights.Dim("features.0.0.weight", 4, 0);
        int total = blockIds.Count;
        var blocks = new List<MBConvWidths>();
        for (int id = 0; id < total; id++)
        {
            var (stage, index) = blockIds[id];
            string p = $"features.{stage}.{index}.block";
            bool hasExpand = weights.Has($"{p}.3.0.weight"); // expand, depthwise, SE, project
            int d = hasExpand ? 1 : 0;
            string dw = $"{p}.{d}.0.weight";
            int expanded = weights.Dim(dw, 4, 0);
            int kernel = weights.Dim(dw, 4, 2);
            int squeeze = weights.Dim($"{p}.{d + 1}.fc1.weight", 4, 0);
            int outCh = weights.Dim($"{p}.{d + 2}.0.weight", 4, 0);
            int inCh = hasExpand ? weights.Dim($"{p}.0.0.weight", 4, 1) : expanded;
            int stride = index == 0 ? stages[stage - 1].Stride : 1;
            bool residual = index > 0 || (stride == 1 && inCh == outCh);
            blocks.Add(new MBConvWidths(stage, index, kernel, stride, hasExpand, residual, inCh, expanded,
                squeeze, outCh, stochasticDepthProb * id / total));
        }
        int head = weights.Dim($"features.{stageCount + 1}.0.weight", 4, 0);
        int classes = weights.Dim("classifier.1.weight", 2, 0);
        return new EfficientNetWidths(stem, blocks, head, classes, dropout);
    }

    /// <summary>Largest depthwise kernel (torchvision uses 3 and 5).</summary>
    public const int MaxKernel = 31;

    /// <summary>
    /// Checks that these widths describe a network the builder can make and run: every width in [1,
    /// <see cref="WidthLimits.MaxChannels"/>], kernels in [1, <see cref="MaxKernel"/>], strides in [1, <see cref="WidthLimits.MaxStride"/>],
    /// 1 to <see cref="WidthLimits.MaxBlocks"/> blocks numbered stage 1, 2, … and index 0, 1, … in order, each block reading what
    /// the one before it writes (the first reads the stem), probabilities in [0, 1], and the expand and residual flags
    /// consistent with the widths. Throws an <see cref="ArgumentException"/> naming the field.
    /// </summary>
    public void Validate()
    {
        WidthLimits.InRange("Stem", Stem, 1, WidthLimits.MaxChannels);
        WidthLimits.InRange("Head", Head, 1, WidthLimits.MaxChannels);
        WidthLimits.InRange("NumClasses", NumClasses, 1, WidthLimits.MaxChannels);
        WidthLimits.Probability("Dropout", Dropout);
        if (Blocks is null) throw new ArgumentException("widths: Blocks is missing");
        WidthLimits.InRange("the number of blocks", Blocks.Count, 1, WidthLimits.MaxBlocks);
        int previousOut = Stem, stage = 1, index = 0;
        for (int i = 0; i < Blocks.Count; i++)
        {
            var b = Blocks[i] ?? throw new ArgumentException($"widths: block {i} is missing");
            string at = $"block {i} ({b.Prefix})";
            WidthLimits.NextInStage(i, b.Stage, b.Index, at, ref stage, ref index);
            WidthLimits.InRange($"{at} Kernel", b.Kernel, 1, MaxKernel);
            WidthLimits.InRange($"{at} Stride", b.Stride, 1, WidthLimits.MaxStride);
            WidthLimits.InRange($"{at} In", b.In, 1, WidthLimits.MaxChannels);
            WidthLimits.InRange($"{at} Expanded", b.Expanded, 1, WidthLimits.MaxChannels);
            WidthLimits.InRange($"{at} Squeeze", b.Squeeze, 1, WidthLimits.MaxChannels);
            WidthLimits.InRange($"{at} Out", b.Out, 1, WidthLimits.MaxChannels);
            WidthLimits.Probability($"{at} StochasticDepthProb", b.StochasticDepthProb);
            if (b.In != previousOut)
                throw new ArgumentException($"widths: {at} input width {b.In} differs from the {previousOut} channels before it");
            if (!b.HasExpand && b.In != b.Expanded)
                throw new ArgumentException($"widths: {at} has no expand conv, so its expanded width ({b.Expanded}) must equal its input width ({b.In})");
            if (b.UseResidual && (b.Stride != 1 || b.In != b.Out))
                throw new ArgumentException($"widths: {at} has a residual, which needs stride 1 and equal input/output widths");
            previousOut = b.Out;
        }
    }

    /// <summary>The shape of every conv and linear weight (state-dict key → shape) of the network these widths
    /// describe; the inverse of <see cref="FromStateDictShapes"/>, so a file's widths can be checked against its
    /// tensors before a network is built.</summary>
    public IReadOnlyDictionary<string, long[]> WeightShapes()
    {
        var shapes = new Dictionary<string, long[]>(StringComparer.Ordinal) { ["features.0.0.weight"] = [Stem, 3, 3, 3] };
        foreach (var b in Blocks)
        {
            string p = $"{b.Prefix}.block";
            int d = b.HasExpand ? 1 : 0;
            if (b.HasExpand) shapes[$"{p}.0.0.weight"] = [b.Expanded, b.In, 1, 1];
            shapes[$"{p}.{d}.0.weight"] = [b.Expanded, 1, b.Kernel, b.Kernel];
            shapes[$"{p}.{d + 1}.fc1.weight"] = [b.Squeeze, b.Expanded, 1, 1];
            shapes[$"{p}.{d + 1}.fc2.weight"] = [b.Expanded, b.Squeeze, 1, 1];
            shapes[$"{p}.{d + 2}.0.weight"] = [b.Out, b.Expanded, 1, 1];
        }
        shapes[$"features.{StageCount + 1}.0.weight"] = [Head, Blocks[^1].Out, 1, 1];
        shapes["classifier.1.weight"] = [NumClasses, Head];
        return shapes;
    }

    /// <summary>
    /// The channel spaces of this network (<see cref="ChannelDeclaration"/>): the stem output; per block its
    /// output (tied to its input by a residual add), its expanded channels (a block without an expand conv works on
    /// its input space) and its squeeze-excitation channels; the head output, read by the classifier. For
    /// torchvision's B0 the ties leave 40 groups: 1 stem, 15 expand, 16 squeeze-excitation, 7 stage trunks, 1 head.
    /// Space names: <c>stem</c>, <c>block S.I out</c>, <c>block S.I expand</c>, <c>block S.I squeeze</c>, <c>head</c>.
    /// </summary>
    public ChannelDeclaration DeclareChannels()
    {
        var d = new ChannelDeclaration();
        const ChannelRole Out = ChannelRole.Out, In = ChannelRole.In,
            Depthwise = ChannelRole.Depthwise, Norm = ChannelRole.BatchNorm;
        string inSpace = d.Space("stem", SpaceKind.Stem, Stem);
        d.Member(inSpace, "features.0.0", Out);
        d.Member(inSpace, "features.0.1", Norm);
        foreach (var b in Blocks)
        {
            string p = $"{b.Prefix}.block", id = $"{b.Stage}.{b.Index}";
            string outSpace = d.Space($"block {id} out", SpaceKind.Trunk, b.Out);
            if (b.UseResidual) d.Tie(outSpace, inSpace);
            string exp = b.HasExpand ? d.Space($"block {id} expand", SpaceKind.Expand, b.Expanded) : inSpace;
            string sq = d.Space($"block {id} squeeze", SpaceKind.SqueezeExcitation, b.Squeeze);
            int k = 0;
            if (b.HasExpand)
            {
                d.Member(inSpace, $"{p}.0.0", In);
                d.Member(exp, $"{p}.0.0", Out);
                d.Member(exp, $"{p}.0.1", Norm);
                k = 1;
            }
            d.Member(exp, $"{p}.{k}.0", Depthwise);
            d.Member(exp, $"{p}.{k}.1", Norm);
            d.Member(exp, $"{p}.{k + 1}.fc1", In);
            d.Member(sq, $"{p}.{k + 1}.fc1", Out);
            d.Member(sq, $"{p}.{k + 1}.fc2", In);
            d.Member(exp, $"{p}.{k + 1}.fc2", Out);
            d.Member(exp, $"{p}.{k + 2}.0", In);
            d.Member(outSpace, $"{p}.{k + 2}.0", Out);
            d.Member(outSpace, $"{p}.{k + 2}.1", Norm);
            inSpace = outSpace;
        }
        int h = StageCount + 1;
        string head = d.Space("head", SpaceKind.Head, Head);
        d.Member(inSpace, $"features.{h}.0", In);
        d.Member(head, $"features.{h}.0", Out);
        d.Member(head, $"features.{h}.1", Norm);
        d.Member(head, "classifier.1", In);
        return d;
    }

    /// <summary>The widths after giving the named spaces of <see cref="DeclareChannels"/> (and the spaces tied to
    /// them) new widths; the others keep theirs. A block's input is the width of the space before it; a block
    /// without an expand conv works on its input space. An unknown space name, or tied spaces given different
    /// widths, is an <see cref="ArgumentException"/> (<see cref="ChannelDeclaration.WidthsWith"/>).</summary>
    public EfficientNetWidths WithSpaceWidths(IReadOnlyDictionary<string, int> spaceWidths)
    {
        var w = DeclareChannels().WidthsWith(spaceWidths);
        int stem = w["stem"], previous = stem;
        var blocks = new List<MBConvWidths>(Blocks.Count);
        foreach (var b in Blocks)
        {
            string id = $"{b.Stage}.{b.Index}";
            blocks.Add(b with
            {
                In = previous,
                Expanded = b.HasExpand ? w[$"block {id} expand"] : previous,
                Squeeze = w[$"block {id} squeeze"],
                Out = w[$"block {id} out"],
            });
            previous = blocks[^1].Out;
        }
        return this with { Stem = stem, Blocks = blocks, Head = w["head"] };
    }

    INetworkWidths INetworkWidths.WithSpaceWidths(IReadOnlyDictionary<string, int> spaceWidths) => WithSpaceWidths(spaceWidths);

    INetworkWidths INetworkWidths.WithClasses(int numClasses) => WithClasses(numClasses);

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

    public string ToJson() => HarnessJson.Serialize(new WidthsDocument(Stem, Blocks.ToList(), Head, NumClasses, Dropout));

    /// <summary>Reads <see cref="ToJson"/>'s document; a missing field, a null or a value of the wrong JSON type is a
    /// <see cref="JsonException"/>. The numbers are not checked here: call <see cref="Validate"/>.</summary>
    public static EfficientNetWidths FromJson(string json)
    {
        var doc = HarnessJson.Deserialize<WidthsDocument>(json)
                  ?? throw new InvalidDataException("widths JSON is empty");
        return new EfficientNetWidths(doc.Stem, doc.Blocks, doc.Head, doc.NumClasses, doc.Dropout);
    }

    private sealed record WidthsDocument(int Stem, List<MBConvWidths> Blocks, int Head, int NumClasses, double Dropout);
}
