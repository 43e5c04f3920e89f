using Harness.Model.Channels;
using Harness.Model.Networks;
using System.Text.RegularExpressions;

namespace Harness.Model.Families;

/// <summary>
/// Every channel width of one concrete ResNet: torchvision's <c>resnet18</c> / <c>resnet50</c>, or the same network
/// after channel pruning (widths may then differ per block). <see cref="Stem"/> is <c>conv1</c>'s output (the
/// stage-1 trunk too when <c>layer1.0</c> has no downsample); the blocks are listed in module order. A network is
/// rebuilt from these numbers alone.
/// </summary>
public sealed record ResNetWidths(ResNetBlockKind Block, int Stem, IReadOnlyList<ResNetBlockWidths> Blocks, int NumClasses) : INetworkWidths
{
    public string Architecture => ResNetArchitecture.FamilyName;

    public IPrunableNetwork Build() => new ResNet(this);

    /// <summary>torchvision's <c>resnet18</c>: BasicBlock, [2, 2, 2, 2].</summary>
    public static ResNetWidths ResNet18(int numClasses = 10) => Torchvision(ResNetBlockKind.Basic, [2, 2, 2, 2], numClasses);

    /// <summary>torchvision's <c>resnet50</c>: Bottleneck, [3, 4, 6, 3], expansion 4.</summary>
    public static ResNetWidths ResNet50(int numClasses = 10) => Torchvision(ResNetBlockKind.Bottleneck, [3, 4, 6, 3], numClasses);

    /// <summary>torchvision's <c>_make_layer</c>: stages of 64, 128, 256, 512 planes with strides 1, 2, 2, 2 on their
    /// first block, which has a downsample when its stride is not 1 or its input is not planes × expansion.</summary>
    private static ResNetWidths Torchvision(ResNetBlockKind kind, int[] layers, int numClasses)
    {
        int expansion = kind == ResNetBlockKind.Bottleneck ? 4 : 1;
        int inplanes = 64;
        var blocks = new List<ResNetBlockWidths>();
        for (int s = 0; s < layers.Length; s++)
        {
            int planes = 64 << s, stride = s == 0 ? 1 : 2, outCh = planes * expansion;
            for (int i = 0; i < layers[s]; i++)
            {
                int blockStride = i == 0 ? stride : 1;
                blocks.Add(new ResNetBlockWidths(s + 1, i, blockStride, HasDownsample: blockStride != 1 || inplanes != outCh,
                    inplanes, planes, kind == ResNetBlockKind.Bottleneck ? planes : null, outCh));
                inplanes = outCh;
            }
        }
        return new ResNetWidths(kind, 64, blocks, numClasses);
    }

    /// <summary>
    /// Rebuilds the widths of a ResNet from its state-dict tensor shapes alone (masked <c>weight_orig</c> names are
    /// accepted). A Bottleneck network is one whose blocks have a <c>conv3</c>; a block has a downsample when its
    /// <c>downsample.0</c> is present. Strides are torchvision's: 2 on the first block of stages 2 and later, 1
    /// elsewhere. Bad keys or shapes are an <see cref="InvalidDataException"/> naming the key.
    /// </summary>
    public static ResNetWidths FromStateDictShapes(IReadOnlyDictionary<string, long[]> shapes)
    {
        var weights = new WeightShapeReader(shapes, "a ResNet");
        var blockKey = new Regex(@"^layer(\d{1,9})\.(\d{1,9})\.", RegexOptions.CultureInvariant);
        var blockIds = weights.StagedBlocks(blockKey, k => k.StartsWith("layer", StringComparison.Ordinal), "layer<stage>.<block>.*");
        bool bottleneck = weights.Keys.Any(k => blockKey.IsMatch(k) && k.EndsWith(".conv3.weight", StringComparison.Ordinal));
        var kind = bottleneck ? ResNetBlockKind.Bottleneck : ResNetBlockKind.Basic;

        var blocks = blockIds.Select(id =>
        {
            string p = $"layer{id.Stage}.{id.Index}";
            int stride = id.Stage > 1 && id.Index == 0 ? 2 : 1;
            string last = bottleneck ? $"{p}.conv3.weight" : $"{p}.conv2.weight";
            return new ResNetBlockWidths(id.Stage, id.Index, stride, weights.Has($"{p}.downsample.0.weight"),
                In: weights.Dim($"{p}.conv1.weight", 4, 1),
                Conv1Out: weights.Dim($"{p}.conv1.weight", 4, 0),
                Conv2Out: bottleneck ? weights.Dim($"{p}.conv2.weight", 4, 0) : null,
                Out: weights.Dim(last, 4, 0));
        }).ToList();
        return new ResNetWidths(kind, weights.Dim("conv1.weight", 4, 0), blocks, weights.Dim("fc.weight", 2, 0));
    }

    /// <summary>
    /// Checks that these widths describe a network the builder can make and run: every width in [1,
    /// <see cref="WidthLimits.MaxChannels"/>], strides in [1, <see cref="WidthLimits.MaxStride"/>], 1 to
    /// <see cref="WidthLimits.MaxBlocks"/> blocks numbered stage 1, 2, … and index 0, 1, … in order, each block
    /// reading what the one before it writes (the first reads the stem), <c>Conv2Out</c> given exactly in a
    /// Bottleneck network, and a downsample wherever the residual could not add the input itself (stride ≠ 1 or
    /// In ≠ Out). Throws an <see cref="ArgumentException"/> naming the field.
    /// </summary>
    public void Validate()
    {
        if (!Enum.IsDefined(Block)) throw new ArgumentException($"widths: Block must be Basic or Bottleneck (got {Block})");
        WidthLimits.InRange("Stem", Stem, 1, WidthLimits.MaxChannels);
        WidthLimits.InRange("NumClasses", NumClasses, 1, WidthLimits.MaxChannels);
        if (Blocks is null) throw new ArgumentException("widths: Blocks is missing");
        WidthLimits.InRange("the number of blocks", Blocks.Count, 1, WidthLimits.MaxBlocks);
        int previousOut = Stem, stage = 1, index = 0;
        for (int i = 0; i < Blocks.Count; i++)
        {
            var b = Blocks[i] ?? throw new ArgumentException($"widths: block {i} is missing");
            string at = $"block {i} ({b.Prefix})";
            WidthLimits.NextInStage(i, b.Stage, b.Index, at, ref stage, ref index);
            WidthLimits.InRange($"{at} Stride", b.Stride, 1, WidthLimits.MaxStride);
            WidthLimits.InRange($"{at} In", b.In, 1, WidthLimits.MaxChannels);
            WidthLimits.InRange($"{at} Conv1Out", b.Conv1Out, 1, WidthLimits.MaxChannels);
            if (Block == ResNetBlockKind.Bottleneck)
                WidthLimits.InRange($"{at} Conv2Out", b.Conv2Out ?? throw new ArgumentException($"widths: {at} Conv2Out is missing (a Bottleneck has conv2 → conv3)"),
                    1, WidthLimits.MaxChannels);
            else if (b.Conv2Out is not null)
                throw new ArgumentException($"widths: {at} Conv2Out must be null in a BasicBlock network (its conv2 writes Out)");
            WidthLimits.InRange($"{at} Out", b.Out, 1, WidthLimits.MaxChannels);
            if (b.In != previousOut)
                throw new ArgumentException($"widths: {at} input width {b.In} differs from the {previousOut} channels before it");
            if (!b.HasDownsample && (b.Stride != 1 || b.In != b.Out))
                throw new ArgumentException(
                    $"widths: {at} has no downsample (HasDownsample), so its residual needs stride 1 and In = Out (got stride {b.Stride}, {b.In} → {b.Out})");
            previousOut = b.Out;
        }
    }

    /// <summary>The shape of every conv and linear weight (state-dict key → shape) of the network these widths
    /// describe; the inverse of <see cref="FromStateDictShapes"/>, so a file's widths can be checked against its
    /// tensors before a network is built.</summary>
    public IReadOnlyDictionary<string, long[]> WeightShapes()
    {
        var shapes = new Dictionary<string, long[]>(StringComparer.Ordinal) { ["conv1.weight"] = [Stem, 3, 7, 7] };
        foreach (var b in Blocks)
        {
            string p = b.Prefix;
            if (b.Conv2Out is int conv2Out)
            {
                shapes[$"{p}.conv1.weight"] = [b.Conv1Out, b.In, 1, 1];
                shapes[$"{p}.conv2.weight"] = [conv2Out, b.Conv1Out, 3, 3];
                shapes[$"{p}.conv3.weight"] = [b.Out, conv2Out, 1, 1];
            }
            else
            {
                shapes[$"{p}.conv1.weight"] = [b.Conv1Out, b.In, 3, 3];
                shapes[$"{p}.conv2.weight"] = [b.Out, b.Conv1Out, 3, 3];
            }
            if (b.HasDownsample) shapes[$"{p}.downsample.0.weight"] = [b.Out, b.In, 1, 1];
        }
        shapes["fc.weight"] = [NumClasses, Blocks[^1].Out];
        return shapes;
    }

    /// <summary>
    /// The channel spaces of this network (<see cref="ChannelDeclaration"/>), in module order: <c>stem</c> (conv1,
    /// bn1); per block <c>layerS.I conv1</c> (conv1's outputs, bn1, conv2's inputs), in a Bottleneck
    /// <c>layerS.I conv2</c> (conv2's outputs, bn2, conv3's inputs), and <c>layerS.I out</c> (the block's last conv and
    /// its BatchNorm, the downsample's conv and BatchNorm). A block without a downsample adds its input, so its
    /// output space is tied to its input space (the stem for <c>layer1.0</c>); a downsample reads the input space
    /// instead. <c>fc</c> reads the last block's output space. ResNet-18 leaves 8 + 4 = 12 groups after the ties
    /// (8 inner, 4 stage trunks, the first with the stem); ResNet-50 1 + 32 + 4 = 37 (its <c>layer1.0</c> has a
    /// downsample, so the stem is a group of its own).
    /// </summary>
    public ChannelDeclaration DeclareChannels()
    {
        var d = new ChannelDeclaration();
        string inSpace = d.Space("stem", SpaceKind.Stem, Stem);
        d.Member(inSpace, "conv1", ChannelRole.Out);
        d.Member(inSpace, "bn1", ChannelRole.BatchNorm);
        foreach (var b in Blocks)
        {
            string p = b.Prefix;
            string conv1 = d.Space($"{p} conv1", SpaceKind.Inner, b.Conv1Out);
            d.Member(inSpace, $"{p}.conv1", ChannelRole.In);
            d.Member(conv1, $"{p}.conv1", ChannelRole.Out);
            d.Member(conv1, $"{p}.bn1", ChannelRole.BatchNorm);
            d.Member(conv1, $"{p}.conv2", ChannelRole.In);
            string last = "2";
            if (b.Conv2Out is int conv2Out)
            {
                string conv2 = d.Space($"{p} conv2", SpaceKind.Inner, conv2Out);
                d.Member(conv2, $"{p}.conv2", ChannelRole.Out);
                d.Member(conv2, $"{p}.bn2", ChannelRole.BatchNorm);
                d.Member(conv2, $"{p}.conv3", ChannelRole.In);
                last = "3";
            }
            string outSpace = d.Space($"{p} out", SpaceKind.Trunk, b.Out);
            d.Member(outSpace, $"{p}.conv{last}", ChannelRole.Out);
            d.Member(outSpace, $"{p}.bn{last}", ChannelRole.BatchNorm);
            if (b.HasDownsample)
            {
                d.Member(inSpace, $"{p}.downsample.0", ChannelRole.In);
                d.Member(outSpace, $"{p}.downsample.0", ChannelRole.Out);
                d.Member(outSpace, $"{p}.downsample.1", ChannelRole.BatchNorm);
            }
            else
            {
                d.Tie(outSpace, inSpace);
            }
            inSpace = outSpace;
        }
        d.Member(inSpace, "fc", ChannelRole.In);
        return d;
    }

    /// <summary>The widths after giving the named spaces of <see cref="DeclareChannels"/> (and the spaces tied to
    /// them) new widths; the others keep theirs. A block's input is the width of the space before it. An unknown
    /// space name is an <see cref="ArgumentException"/>.</summary>
    public ResNetWidths WithSpaceWidths(IReadOnlyDictionary<string, int> spaceWidths)
    {
        var w = DeclareChannels().WidthsWith(spaceWidths);
        int previous = w["stem"];
        var blocks = new List<ResNetBlockWidths>(Blocks.Count);
        foreach (var b in Blocks)
        {
            blocks.Add(b with
            {
                In = previous,
                Conv1Out = w[$"{b.Prefix} conv1"],
                Conv2Out = b.Conv2Out is null ? null : w[$"{b.Prefix} conv2"],
                Out = w[$"{b.Prefix} out"],
            });
            previous = blocks[^1].Out;
        }
        return this with { Stem = w["stem"], Blocks = blocks };
    }

    /// <summary>The same network with another number of classes.</summary>
    public ResNetWidths WithClasses(int numClasses) => this with { NumClasses = numClasses };

    INetworkWidths INetworkWidths.WithSpaceWidths(IReadOnlyDictionary<string, int> spaceWidths) => WithSpaceWidths(spaceWidths);

    INetworkWidths INetworkWidths.WithClasses(int numClasses) => WithClasses(numClasses);

    public bool Equals(ResNetWidths? other) =>
        other is not null && Block == other.Block && Stem == other.Stem && NumClasses == other.NumClasses
        && Blocks.SequenceEqual(other.Blocks);

    public override int GetHashCode()
    {
        var h = new HashCode();
        h.Add(Block);
        h.Add(Stem);
        h.Add(NumClasses);
        foreach (var b in Blocks) h.Add(b);
        return h.ToHashCode();
    }
}
