using Harness.Model.Families;
using Harness.Storage.Checkpoints;
using Harness.Tests.TestSupport;
using static TorchSharp.torch;

namespace Harness.Tests.Unit.Model.Families;

public class EfficientNetStructureTests
{
    private static Dictionary<string, long[]> Shapes(EfficientNet model) =>
        model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.shape);

    [Test]
    public void StateDictKeysAndShapesEqualTorchvisionReference()
    {
        string path = SharedData.RequireShared("reference/efficientnet_b0_imagenet_state_dict.tsv");
        var expected = File.ReadAllLines(path).Skip(1).Where(l => l.Length > 0).Select(l => l.Split('\t'))
            .Select(f => (Key: f[0], Shape: f[1] == "scalar" ? "" : f[1])).ToList();
        using var model = EfficientNet.Create(EfficientNetConfig.B0(1000));
        var actual = StateDictOrder.Ordered(model).Select(kv => (Key: kv.Key, Shape: string.Join("x", kv.Value.shape))).ToList();
        Assert.That(actual.Select(a => a.Key), Is.EquivalentTo(expected.Select(e => e.Key)));
        Assert.That(actual, Is.EqualTo(expected), "same keys, shapes and order as torchvision");
        Assert.That(actual, Has.Count.EqualTo(360));
    }

    [TestCase(1000, 5_288_548)]
    [TestCase(10, 4_020_358)]
    public void ParameterCountMatchesTorchvision(int classes, long expected)
    {
        using var model = EfficientNet.Create(EfficientNetConfig.B0(classes));
        Assert.That(model.parameters().Sum(p => p.numel()), Is.EqualTo(expected));
    }

    [Test]
    public void WidthsRebuildFromStateDictShapes()
    {
        foreach (var config in new[] { EfficientNetConfig.B0(10), EfficientNetConfig.Scaled(0.25, 0.34, 7) })
        {
            using var model = EfficientNet.Create(config);
            var rebuilt = EfficientNetWidths.FromStateDictShapes(Shapes(model));
            Assert.That(rebuilt, Is.EqualTo(EfficientNetWidths.FromConfig(config)));
        }
    }

    [Test]
    public void WidthsRoundTripThroughJson()
    {
        var widths = EfficientNetWidths.FromConfig(EfficientNetConfig.B0(10));
        Assert.That(EfficientNetWidths.FromJson(widths.ToJson()), Is.EqualTo(widths));
    }

    [Test]
    public void SqueezeWidthIsBlockInputOverFourAndResidualOnlyWhenShapesAgree()
    {
        var widths = EfficientNetWidths.FromConfig(EfficientNetConfig.B0(10));
        Assert.Multiple(() =>
        {
            Assert.That(widths.Blocks, Has.Count.EqualTo(16));
            Assert.That(widths.Blocks.Select(b => b.Squeeze), Is.EqualTo(widths.Blocks.Select(b => Math.Max(1, b.In / 4))));
            Assert.That(widths.Blocks.Where(b => b.UseResidual).All(b => b.Stride == 1 && b.In == b.Out));
            Assert.That(widths.Blocks.Count(b => b.UseResidual), Is.EqualTo(9));
            Assert.That(widths.Blocks[^1].StochasticDepthProb, Is.EqualTo(0.2 * 15 / 16).Within(1e-12));
            Assert.That(widths.Head, Is.EqualTo(1280));
        });
    }

    [Test]
    public void EvalIsDeterministicAndTrainingIsStochastic()
    {
        manual_seed(1);
        using var model = EfficientNet.Create(EfficientNetConfig.Scaled(0.25, 0.34, 10));
        using var x = randn(4, 3, 32, 32);
        model.eval();
        using (no_grad())
        {
            using var a = model.call(x);
            using var b = model.call(x);
            Assert.That(TensorAssert.Identical(a, b), Is.True);
            model.train();
            using var c = model.call(x);
            using var d = model.call(x);
            Assert.That(TensorAssert.Identical(c, d), Is.False, "dropout / stochastic depth must act in training mode");
        }
    }

    [Test]
    public void ModelWithPerLayerWidthsRunsAndRebuildsFromItsShapes()
    {
        var baseWidths = EfficientNetWidths.FromConfig(EfficientNetConfig.Scaled(0.5, 0.5, 10));
        var widths = baseWidths with
        {
            Blocks = baseWidths.Blocks.Select((b, i) => b.HasExpand ? b with { Expanded = b.Expanded - 8 - i % 3, Squeeze = Math.Max(1, b.Squeeze - 1) } : b).ToList(),
            Head = baseWidths.Head - 16,
        };
        using var model = new EfficientNet(widths);
        model.eval();
        using (no_grad())
        {
            using var y = model.call(randn(2, 3, 32, 32));
            Assert.That(y.shape, Is.EqualTo(new long[] { 2, 10 }));
        }
        Assert.That(EfficientNetWidths.FromStateDictShapes(Shapes(model)), Is.EqualTo(widths));
    }

    [Test]
    public void ReplaceClassifierGivesFreshHeadWithTheRequestedClasses()
    {
        using var model = EfficientNet.Create(EfficientNetConfig.Scaled(0.25, 0.34, 1000));
        model.ReplaceClassifier(10);
        var sd = model.state_dict();
        Assert.That(sd["classifier.1.weight"].shape, Is.EqualTo(new long[] { 10, model.Widths.Head }));
        Assert.That(model.Widths.NumClasses, Is.EqualTo(10));
        Assert.That(sd.Keys.Count(k => k.StartsWith("classifier.")), Is.EqualTo(2));
    }

    [TestCase("features.0.0.weight", new long[] { 8 }, TestName = "StemWeightOfRankOneIsAFormatError")]
    [TestCase("features.1.0.block.0.0.weight", new long[] { 8 }, TestName = "DepthwiseWeightOfRankOneIsAFormatError")]
    [TestCase("features.1.0.block.1.fc1.weight", new long[0], TestName = "SqueezeWeightOfRankZeroIsAFormatError")]
    [TestCase("classifier.1.weight", new long[0], TestName = "ClassifierWeightOfRankZeroIsAFormatError")]
    [TestCase("features.0.0.weight", new long[] { 1L << 40, 0, 3, 3 }, TestName = "WidthBeyondInt32IsAFormatError")]
    public void WidthsFromShapesOfTheWrongRankAreAFormatErrorNotAnIndexError(string key, long[] shape)
    {
        using var model = EfficientNet.Create(EfficientNetConfig.Scaled(0.1, 0.1, 3));
        var shapes = Shapes(model);
        shapes[key] = shape;
        var ex = Assert.Throws<InvalidDataException>(() => EfficientNetWidths.FromStateDictShapes(shapes));
        Assert.That(ex!.Message, Does.Contain(key));
    }

    [TestCase(0.1, 0.1)]
    [TestCase(0.25, 0.34)]
    [TestCase(1.0, 1.0)]
    public void WeightShapesOfWidthsAreTheShapesOfTheBuiltNetwork(double width, double depth)
    {
        using var model = EfficientNet.Create(EfficientNetConfig.Scaled(width, depth, 10));
        var built = model.PrunableLayers().ToDictionary(l => $"{l.Name}.weight", l => l.Layer.Weight.shape);
        Assert.That(model.Widths.WeightShapes(), Is.EquivalentTo(built));
    }

    [Test]
    public void ValidateAcceptsTorchvisionAndPerLayerWidths()
    {
        Assert.DoesNotThrow(() => EfficientNetWidths.FromConfig(EfficientNetConfig.B0(1000)).Validate());
        Assert.DoesNotThrow(() => EfficientNetWidths.FromConfig(EfficientNetConfig.Scaled(0.1, 0.1, 1)).Validate());
    }

    [Test]
    public void NetworkIsNotBuiltFromWidthsThatFailValidation()
    {
        var widths = EfficientNetWidths.FromConfig(EfficientNetConfig.Scaled(0.1, 0.1, 3)) with { Head = -1 };
        var ex = Assert.Throws<ArgumentException>(() => new EfficientNet(widths).Dispose());
        Assert.That(ex!.Message, Does.Contain("Head"));
    }
}
