using Harness.Model.Layers;
using Harness.Model.Networks;
using Harness.Runtime;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Harness.Model.Families;

/// <summary>
/// torchvision's EfficientNet with its module tree and state-dict names (<c>features.0.0.weight</c>,
/// <c>features.1.0.block.1.fc1.weight</c>, <c>classifier.1.weight</c>…), built from <see cref="EfficientNetWidths"/>
/// so that a channel-pruned network is the same builder with other numbers.
/// </summary>
public sealed class EfficientNet : PrunableNetwork<EfficientNetWidths>
{
    private readonly Sequential _features;
    private readonly ClassifierHead _classifier;
    private readonly AdaptiveAvgPool2d _avgpool;

    public EfficientNet(EfficientNetWidths widths) : base(nameof(EfficientNet), widths)
    {
        Stem = new ConvNormActivation(3, widths.Stem, 3, stride: 2);
        var features = new List<(string, nn.Module<Tensor, Tensor>)> { ("0", Stem) };
        var blocks = new List<MBConv>();
        foreach (var stage in widths.Blocks.GroupBy(b => b.Stage).OrderBy(g => g.Key))
        {
            if (stage.Key != features.Count)
                throw new ArgumentException($"stages must be numbered 1, 2, … without gaps (found stage {stage.Key})");
            var stageBlocks = stage.OrderBy(b => b.Index).Select(b => new MBConv(b)).ToList();
            blocks.AddRange(stageBlocks);
            features.Add((stage.Key.ToString(), nn.Sequential(stageBlocks.Select((b, i) => (i.ToString(), (nn.Module<Tensor, Tensor>)b)))));
        }
        int lastOut = widths.Blocks[^1].Out;
        Head = new ConvNormActivation(lastOut, widths.Head, 1);
        features.Add((features.Count.ToString(), Head));
        Blocks = blocks;
        _features = Add("features", nn.Sequential(features));
        _avgpool = Add("avgpool", nn.AdaptiveAvgPool2d(1));
        _classifier = Add("classifier", new ClassifierHead(widths.Head, widths.NumClasses, widths.Dropout));
    }

    /// <summary>A freshly initialised network for a configuration (torchvision's initialisation).</summary>
    public static EfficientNet Create(EfficientNetConfig config) => new(EfficientNetWidths.FromConfig(config));

    public ConvNormActivation Stem { get; }
    public IReadOnlyList<MBConv> Blocks { get; }
    public ConvNormActivation Head { get; }
    public Dropout Dropout => _classifier.Dropout;
    public override PrunableLinear Classifier => _classifier.Linear;

    /// <summary>True when the BatchNorms are folded into the convs (<see cref="BatchNormFolding"/>): inference only.</summary>
    public bool IsFolded => BatchNormFolding.IsFolded(this);

    /// <summary>EfficientNet's record predates the <c>architecture</c> member: the widths alone.</summary>
    public override string MetadataJson() => Widths.ToJson();

    /// <summary>Stage k is <c>features.k</c>: 0 the stem, 1 … <c>StageCount</c> the MBConv stages, then the head conv.</summary>
    public override IReadOnlyList<IReadOnlyList<string>> Stages =>
        Enumerable.Range(0, Widths.StageCount + 2).Select(k => (IReadOnlyList<string>)[$"features.{k}"]).ToList();

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = _features.call(MemoryLayout.Prepare(input));
        x = _avgpool.call(x).flatten(1);
        return _classifier.call(x).MoveToOuterDisposeScope();
    }

    /// <summary>A fresh classifier (torchvision's initialisation), as the study replaced ImageNet's 1000-class head
    /// with a 10-class one.</summary>
    protected override void MakeHead(int numClasses) => _classifier.Replace(numClasses);

    /// <summary>torchvision's eval-mode forward: the stem, each MBConv (expand, depthwise, squeeze-excitation,
    /// projection, the residual add where the block has one), the head conv, global average pooling.</summary>
    public override string WriteFeatures(IForwardGraph g)
    {
        string x = g.ConvNormActivation("features.0", Stem, g.Input);
        foreach (var block in Blocks)
            x = block.WriteGraph(g, $"features.{block.Widths.Stage}.{block.Widths.Index}", x);
        x = g.ConvNormActivation($"features.{Widths.StageCount + 1}", Head, x);
        return g.Flatten("flatten", g.GlobalAveragePool("avgpool", x));
    }
}
