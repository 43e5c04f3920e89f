using Harness.Model.Channels;
using Harness.Model.Networks;
using System.Globalization;
using System.Text.RegularExpressions;

namespace Harness.Model.Families;

/// <summary>
/// Every channel width of one concrete MobileNetV2: torchvision's <c>mobilenet_v2</c> (width multiplier 1.0), or
/// the same network after channel pruning. <see cref="Stem"/> is <c>features.0</c>'s output, the blocks are
/// <c>features.1</c>–<c>features.17</c> in order, <see cref="Head"/> is the last conv's output (<c>features.18</c>,
/// 1280), read by the classifier (<c>classifier.0</c> dropout, <c>classifier.1</c> linear). A network is rebuilt
/// from these numbers alone.
/// </summary>
public sealed record MobileNetV2Widths(int Stem, IReadOnlyList<InvertedResidualWidths> Blocks, int Head, int NumClasses,
    double Dropout = 0.2) : INetworkWidths
{
    public string Architecture => MobileNetV2Architecture.FamilyName;

    public IPrunableNetwork Build() => new MobileNetV2(this);

    /// <summary>torchvision's inverted-residual setting: expand ratio t, output channels c, repeats n, stride s of
    /// the first repeat.</summary>
    public static readonly IReadOnlyList<(int T, int C, int N, int S)> Setting =
    [
        (1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1),
    ];

    /// <summary>The stride and residual of every block of <see cref="Setting"/>, in order: the first repeat of a row
    /// has the row's stride and (its width changing) no residual; the others stride 1 and a residual.</summary>
    private static IEnumerable<(int T, int C, int Stride, bool Residual)> Plan() =>
        Setting.SelectMany(row => Enumerable.Range(0, row.N).Select(i => (row.T, row.C, i == 0 ? row.S : 1, i > 0)));

    /// <summary>torchvision's <c>mobilenet_v2</c> (width multiplier 1.0, round to 8): stem 32, the 17 blocks of
    /// <see cref="Setting"/> (expanded width = input × t), head 1280, dropout 0.2.</summary>
    public static MobileNetV2Widths MobileNetV2(int numClasses = 10)
    {
        int input = 32;
        var blocks = new List<InvertedResidualWidths>();
        foreach (var (t, c, stride, _) in Plan())
        {
            blocks.Add(new InvertedResidualWidths(blocks.Count + 1, stride, HasExpand: t != 1,
                UseResidual: stride == 1 && input == c, input, input * t, c));
            input = c;
        }
        return new MobileNetV2Widths(32, blocks, 1280, numClasses);
    }

    /// <summary>
    /// Rebuilds the widths of a MobileNetV2 from its state-dict tensor shapes alone (masked <c>weight_orig</c> names
    /// are accepted). A block has an expand conv when it has four parts (<c>features.N.conv.3</c>, the project
    /// BatchNorm, is present). Strides and residual connections come from torchvision's <see cref="Setting"/>, not
    /// from the widths (which pruning changes), so the file must have its 17 blocks. Bad keys or shapes are an
    /// <see cref="InvalidDataException"/> naming the key.
    /// </summary>
    public static MobileNetV2Widths FromStateDictShapes(IReadOnlyDictionary<string, long[]> shapes, double dropout = 0.2)
    {
        var weights = new WeightShapeReader(shapes, "a MobileNetV2");
        var blockKey = new Regex(@"^features\.(\d{1,9})\.conv\.", RegexOptions.CultureInvariant);
        var indices = weights.Keys.Select(k => blockKey.Match(k)).Where(m => m.Success)
            .Select(m => int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)).Distinct().Order().ToList();
        var plan = Plan().ToList();
        if (indices.Count == 0)
            throw new InvalidDataException("state dict has no 'features.<block>.conv.*' keys: not a MobileNetV2");
        if (!indices.SequenceEqual(Enumerable.Range(1, plan.Count)))
            throw new InvalidDataException(
                $"state dict has the blocks features.{{{string.Join(", ", indices.Take(20))}{(indices.Count > 20 ? ", …" : "")}}}; torchvision's MobileNetV2 has features.1–{plan.Count}");
        var blocks = indices.Select((index, i) =>
        {
            string p = $"features.{index}.conv";
            bool hasExpand = weights.Has($"{p}.3.weight");
            int d = hasExpand ? 1 : 0;
            int expanded = weights.Dim($"{p}.{d}.0.weight", 4, 0);
            return new InvertedResidualWidths(index, plan[i].Stride, hasExpand, plan[i].Residual,
                In: hasExpand ? weights.Dim($"{p}.0.0.weight", 4, 1) : expanded,
                Expanded: expanded,
                Out: weights.Dim($"{p}.{d + 1}.weight", 4, 0));
        }).ToList();
        int head = plan.Count + 1;
        return new MobileNetV2Widths(weights.Dim("features.0.0.weight", 4, 0), blocks, weights.Dim($"features.{head}.0.weight", 4, 0),
            weights.Dim("classifier.1.weight", 2, 0), dropout);
    }

    /// <summary>
    /// Checks that these widths describe a network the builder can make and run: every width in [1,
    /// <see cref="WidthLimits.MaxChannels"/>], strides in [1, <see cref="WidthLimits.MaxStride"/>], 1 to
    /// <see cref="WidthLimits.MaxBlocks"/> blocks numbered 1, 2, … in order, each reading what the one before it
    /// writes (the first reads the stem), dropout in [0, 1], and the expand and residual flags consistent with the
    /// widths. Throws an <see cref="ArgumentException"/> naming the field.
    /// </summary>
    public void Validate()
    {
        WidthLimits.InRange("Stem", Stem, 1, WidthLimits.MaxChannels);
        WidthLimits.InRange("Head", Head, 1, WidthLimits.MaxChannels);
        WidthLimits.InRange("NumClasses", NumClasses, 1, WidthLimits.MaxChannels);
        WidthLimits.Probability("Dropout", Dropout);
        if (Blocks is null) throw new ArgumentException("widths: Blocks is missing");
        WidthLimits.InRange("the number of blocks", Blocks.Count, 1, WidthLimits.MaxBlocks);
        int previousOut = Stem;
        for (int i = 0; i < Blocks.Count; i++)
        {
            var b = Blocks[i] ?? throw new ArgumentException($"widths: block {i} is missing");
            string at = $"block {i} ({b.Prefix})";
            if (b.Index != i + 1) throw new ArgumentException($"widths: {at} must have Index {i + 1} (blocks are numbered in order from 1)");
            WidthLimits.InRange($"{at} Stride", b.Stride, 1, WidthLimits.MaxStride);
            WidthLimits.InRange($"{at} In", b.In, 1, WidthLimits.MaxChannels);
            WidthLimits.InRange($"{at} Expanded", b.Expanded, 1, WidthLimits.MaxChannels);
            WidthLimits.InRange($"{at} Out", b.Out, 1, WidthLimits.MaxChannels);
            if (b.In != previousOut)
                throw new ArgumentException($"widths: {at} input width {b.In} differs from the {previousOut} channels before it");
            if (!b.HasExpand && b.In != b.Expanded)
                throw new ArgumentException($"widths: {at} has no expand conv, so its Expanded width ({b.Expanded}) must equal its input width ({b.In})");
            if (b.UseResidual && (b.Stride != 1 || b.In != b.Out))
                throw new ArgumentException($"widths: {at} has a residual (UseResidual), which needs stride 1 and In = Out (got stride {b.Stride}, {b.In} → {b.Out})");
            previousOut = b.Out;
        }
    }

    /// <summary>The shape of every conv and linear weight (state-dict key → shape) of the network these widths
    /// describe; the inverse of <see cref="FromStateDictShapes"/>.</summary>
    public IReadOnlyDictionary<string, long[]> WeightShapes()
    {
        var shapes = new Dictionary<string, long[]>(StringComparer.Ordinal) { ["features.0.0.weight"] = [Stem, 3, 3, 3] };
        foreach (var b in Blocks)
        {
            string p = $"{b.Prefix}.conv";
            int d = b.HasExpand ? 1 : 0;
            if (b.HasExpand) shapes[$"{p}.0.0.weight"] = [b.Expanded, b.In, 1, 1];
            shapes[$"{p}.{d}.0.weight"] = [b.Expanded, 1, 3, 3];
            shapes[$"{p}.{d + 1}.weight"] = [b.Out, b.Expanded, 1, 1];
        }
        shapes[$"features.{Blocks.Count + 1}.0.weight"] = [Head, Blocks[^1].Out, 1, 1];
        shapes["classifier.1.weight"] = [NumClasses, Head];
        return shapes;
    }

    /// <summary>
    /// The channel spaces of this network (<see cref="ChannelDeclaration"/>), in module order: <c>stem</c>
    /// (<c>features.0</c>); per block <c>block N expand</c> (the expand conv's outputs and BatchNorm, the depthwise
    /// conv and its BatchNorm, the project conv's inputs; a block without an expand conv works on its input space)
    /// and <c>block N out</c> (the project conv's outputs and BatchNorm), tied to the block's input space by a
    /// residual; <c>head</c> (<c>features.18</c>'s outputs, read by <c>classifier.1</c>). For torchvision's network
    /// the ties leave 1 + 16 + 7 + 1 = 25 groups: the stem (block 1's depthwise too), 16 expand, 7 trunks, the head.
    /// </summary>
    public ChannelDeclaration DeclareChannels()
    {
        var d = new ChannelDeclaration();
        string inSpace = d.Space("stem", SpaceKind.Stem, Stem);
        d.Member(inSpace, "features.0.0", ChannelRole.Out);
        d.Member(inSpace, "features.0.1", ChannelRole.BatchNorm);
        foreach (var b in Blocks)
        {
            string p = $"{b.Prefix}.conv";
            string exp = inSpace;
            int k = 0;
            if (b.HasExpand)
            {
                exp = d.Space($"block {b.Index} expand", SpaceKind.Expand, b.Expanded);
                d.Member(inSpace, $"{p}.0.0", ChannelRole.In);
                d.Member(exp, $"{p}.0.0", ChannelRole.Out);
                d.Member(exp, $"{p}.0.1", ChannelRole.BatchNorm);
                k = 1;
            }
            d.Member(exp, $"{p}.{k}.0", ChannelRole.Depthwise);
            d.Member(exp, $"{p}.{k}.1", ChannelRole.BatchNorm);
            d.Member(exp, $"{p}.{k + 1}", ChannelRole.In);
            string outSpace = d.Space($"block {b.Index} out", SpaceKind.Trunk, b.Out);
            d.Member(outSpace, $"{p}.{k + 1}", ChannelRole.Out);
            d.Member(outSpace, $"{p}.{k + 2}", ChannelRole.BatchNorm);
            if (b.UseResidual) d.Tie(outSpace, inSpace);
            inSpace = outSpace;
        }
        string h = $"features.{Blocks.Count + 1}";
        string head = d.Space("head", SpaceKind.Head, Head);
        d.Member(inSpace, $"{h}.0", ChannelRole.In);
        d.Member(head, $"{h}.0", ChannelRole.Out);
        d.Member(head, $"{h}.1", ChannelRole.BatchNorm);
        d.Member(head, "classifier.1", ChannelRole.In);
        return d;
    }

    /// <summary>The widths after giving the named spaces of <see cref="DeclareChannels"/> (and the spaces tied to
    /// them) new widths; the others keep theirs. A block's input is the width of the space before it, and a block
    /// without an expand conv keeps its expanded width equal to its input. An unknown space name is an
    /// <see cref="ArgumentException"/>.</summary>
    public MobileNetV2Widths WithSpaceWidths(IReadOnlyDictionary<string, int> spaceWidths)
    {
        var w = DeclareChannels().WidthsWith(spaceWidths);
        int previous = w["stem"];
        var blocks = new List<InvertedResidualWidths>(Blocks.Count);
        foreach (var b in Blocks)
        {
            blocks.Add(b with
            {
                In = previous,
                Expanded = b.HasExpand ? w[$"block {b.Index} expand"] : previous,
                Out = w[$"block {b.Index} out"],
            });
            previous = blocks[^1].Out;
        }
        return this with { Stem = w["stem"], Blocks = blocks, Head = w["head"] };
    }

    /// <summary>The same network with another number of classes.</summary>
    public MobileNetV2Widths WithClasses(int numClasses) => this with { NumClasses = numClasses };

    INetworkWidths INetworkWidths.WithSpaceWidths(IReadOnlyDictionary<string, int> spaceWidths) => WithSpaceWidths(spaceWidths);

    INetworkWidths INetworkWidths.WithClasses(int numClasses) => WithClasses(numClasses);

    public bool Equals(MobileNetV2Widths? other) =>
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
}
