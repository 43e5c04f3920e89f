using Harness.Model.Layers;
using Harness.Model.Networks;
using Harness.Runtime;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Harness.Model.Families;

/// <summary>
/// torchvision's MobileNetV2 with its module tree and state-dict names (<c>features.0.0.weight</c>,
/// <c>features.1.conv.0.0.weight</c>, <c>features.2.conv.3.weight</c>, <c>features.18.0.weight</c>,
/// <c>classifier.1.weight</c>), built from <see cref="MobileNetV2Widths"/> so that a channel-pruned network is the
/// same builder with other numbers: <c>features</c> = stem (3×3 conv-BN-ReLU6, stride 2), 17
/// <see cref="InvertedResidual"/> blocks, 1×1 conv-BN-ReLU6 head; adaptive average pool (functional, as
/// torchvision); <c>classifier</c> = dropout, linear. torchvision's initialisation: convs kaiming-normal (fan_out),
/// BatchNorm weight 1 and bias 0, the linear N(0, 0.01) with bias 0.
/// </summary>
public sealed class MobileNetV2 : PrunableNetwork<MobileNetV2Widths>
{
    private readonly Sequential _features;
    private readonly ClassifierHead _classifier;

    public MobileNetV2(MobileNetV2Widths widths) : base(nameof(MobileNetV2), widths)
    {
        Stem = new ConvNormActivation(3, widths.Stem, 3, stride: 2, activation: ActivationKind.ReLU6);
        Blocks = widths.Blocks.Select(b => new InvertedResidual(b)).ToList();
        Head = new ConvNormActivation(widths.Blocks[^1].Out, widths.Head, 1, activation: ActivationKind.ReLU6);
        var features = new List<nn.Module<Tensor, Tensor>> { Stem };
        features.AddRange(Blocks);
        features.Add(Head);
        _features = Add("features", nn.Sequential(features.Select((m, i) => (i.ToString(), m))));
        _classifier = Add("classifier", new ClassifierHead(widths.Head, widths.NumClasses, widths.Dropout));
        InitialiseClassifier();
    }

    /// <summary>torchvision's MobileNetV2 initialisation of the linear layer: N(0, 0.01²) weight, zero bias.</summary>
    private void InitialiseClassifier()
    {
        using (no_grad())
        {
            nn.init.normal_(Classifier.Weight, 0.0, 0.01);
            Classifier.Bias!.zero_();
        }
    }

    protected override void MakeHead(int numClasses)
    {
        _classifier.Replace(numClasses);
        InitialiseClassifier();
    }

    /// <summary><c>features.0</c>.</summary>
    public ConvNormActivation Stem { get; }

    /// <summary><c>features.1</c>–<c>features.17</c>.</summary>
    public IReadOnlyList<InvertedResidual> Blocks { get; }

    /// <summary><c>features.18</c>.</summary>
    public ConvNormActivation Head { get; }

    public Dropout Dropout => _classifier.Dropout;

    /// <summary><c>classifier.1</c>.</summary>
    public override PrunableLinear Classifier => _classifier.Linear;

    /// <summary>Stage k is <c>features.k</c>: 0 the stem, 1–17 the inverted residual blocks, 18 the head conv.</summary>
    public override IReadOnlyList<IReadOnlyList<string>> Stages =>
        Enumerable.Range(0, Blocks.Count + 2).Select(k => (IReadOnlyList<string>)[$"features.{k}"]).ToList();

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = _features.call(MemoryLayout.Prepare(input));
        x = nn.functional.adaptive_avg_pool2d(x, [1, 1]).flatten(1);
        return _classifier.call(x).MoveToOuterDisposeScope();
    }

    /// <summary>torchvision's eval-mode forward: features.0 (conv-BN-ReLU6), the inverted residuals, the head conv,
    /// global average pooling.</summary>
    public override string WriteFeatures(IForwardGraph g)
    {
        string x = g.ConvNormActivation("features.0", Stem, g.Input);
        for (int i = 0; i < Blocks.Count; i++) x = Blocks[i].WriteGraph(g, $"features.{i + 1}", x);
        x = g.ConvNormActivation($"features.{Blocks.Count + 1}", Head, x);
        return g.Flatten("flatten", g.GlobalAveragePool("avgpool", x));
    }
}
