using Harness.Model.Layers;
using Harness.Model.Networks;
using Harness.Runtime;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Harness.Model.Families;

/// <summary>
/// torchvision's ResNet (<c>resnet18</c>, <c>resnet50</c>…) with its module tree and state-dict names
/// (<c>conv1.weight</c>, <c>bn1.*</c>, <c>layer1.0.conv1.weight</c>, <c>layer2.0.downsample.0.weight</c>,
/// <c>fc.weight</c>), built from <see cref="ResNetWidths"/> so that a channel-pruned network is the same builder with
/// other numbers: conv1 (7×7, stride 2), bn1, relu, maxpool (3, stride 2, padding 1), layer1–layer4 of
/// <see cref="BasicBlock"/>s or <see cref="Bottleneck"/>s, adaptive average pool, fc. torchvision's initialisation:
/// convs kaiming-normal (fan_out, ReLU), BatchNorm weight 1 and bias 0 (<c>zero_init_residual</c> off), fc PyTorch's
/// default Linear initialisation.
/// </summary>
public sealed class ResNet : PrunableNetwork<ResNetWidths>, INormFolding
{
    private readonly ReLU _relu;
    private readonly MaxPool2d _maxpool;
    private readonly IReadOnlyList<Sequential> _layers;
    private readonly AdaptiveAvgPool2d _avgpool;
    private PrunableLinear _fc;

    public ResNet(ResNetWidths widths) : base(nameof(ResNet), widths)
    {
        Conv1 = Add("conv1", new PrunableConv2d(3, widths.Stem, 7, stride: 2, padding: 3, bias: false));
        Bn1 = Add("bn1", TorchvisionNorm.Create(widths.Stem));
        _relu = Add("relu", nn.ReLU());
        _maxpool = Add("maxpool", nn.MaxPool2d(3, stride: 2, padding: 1));
        var blocks = new List<ResNetBlock>();
        var layers = new List<Sequential>();
        foreach (var stage in widths.Blocks.GroupBy(b => b.Stage).OrderBy(g => g.Key))
        {
            var stageBlocks = stage.OrderBy(b => b.Index)
                .Select(b => widths.Block == ResNetBlockKind.Bottleneck ? (ResNetBlock)new Bottleneck(b) : new BasicBlock(b))
                .ToList();
            blocks.AddRange(stageBlocks);
            layers.Add(Add($"layer{stage.Key}", nn.Sequential(stageBlocks.Select((b, i) => (i.ToString(), (nn.Module<Tensor, Tensor>)b)))));
        }
        Blocks = blocks;
        _layers = layers;
        _avgpool = Add("avgpool", nn.AdaptiveAvgPool2d(1));
        _fc = Add("fc", NewClassifier(widths.Blocks[^1].Out, widths.NumClasses));
    }

    /// <summary>PyTorch's default Linear initialisation (kaiming-uniform with a = √5): U(−1/√in, 1/√in) for weight and bias.</summary>
    private static PrunableLinear NewClassifier(long inFeatures, long numClasses)
    {
        var fc = new PrunableLinear(inFeatures, numClasses);
        double bound = 1.0 / Math.Sqrt(inFeatures);
        using (no_grad())
        {
            nn.init.uniform_(fc.Weight, -bound, bound);
            nn.init.uniform_(fc.Bias!, -bound, bound);
        }
        return fc;
    }

    protected override void MakeHead(int numClasses)
    {
        var fresh = NewClassifier(Classifier.InFeatures, numClasses);
        Placement.Of(Classifier.Weight).Apply(fresh);
        register_module("fc", null!);
        register_module("fc", fresh);
        Classifier.Dispose();
        _fc = fresh;
    }

    public PrunableConv2d Conv1 { get; }
    /// <summary><c>bn1</c>; null once folded into conv1 (the blocks fold their own).</summary>
    public BatchNorm2d? Bn1 { get; private set; }

    public bool IsFolded => Bn1 is null;

    public void FoldNorms() => Bn1 = FoldChildNorm(Conv1, Bn1, "bn1");

    /// <summary>The blocks of layer1–layer4 in module order.</summary>
    public IReadOnlyList<ResNetBlock> Blocks { get; }

    /// <summary><c>fc</c>.</summary>
    public override PrunableLinear Classifier => _fc;

    /// <summary>Stage 0 is <c>conv1</c>/<c>bn1</c>, stages 1–4 are <c>layer1</c>–<c>layer4</c>.</summary>
    public override IReadOnlyList<IReadOnlyList<string>> Stages =>
        [["conv1", "bn1"], .. _layers.Select((_, i) => (IReadOnlyList<string>)[$"layer{i + 1}"])];

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        RequireEvalWhenFolded(IsFolded);
        var x = _maxpool.call(_relu.call(NormOrIdentity(Bn1, Conv1.call(MemoryLayout.Prepare(input)))));
        foreach (var layer in _layers) x = layer.call(x);
        x = _avgpool.call(x).flatten(1);
        return Classifier.call(x).MoveToOuterDisposeScope();
    }

    /// <summary>torchvision's eval-mode forward: conv1 → bn1 → relu → maxpool, the blocks, global average pooling.</summary>
    public override string WriteFeatures(IForwardGraph g)
    {
        string x = g.ConvNorm("conv1", Conv1, "bn1", Bn1, g.Input);
        x = g.Activation("relu", ActivationKind.ReLU, x);
        x = g.MaxPool("maxpool", x, 3, 2, 1);
        foreach (var block in Blocks) x = block.WriteGraph(g, x);
        return g.Flatten("flatten", g.GlobalAveragePool("avgpool", x));
    }
}
