using Harness.Metrics;
using Harness.Model;
using Harness.Model.Families;
using Harness.Model.Import;
using Harness.Tests.TestSupport;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Harness.Tests.Unit.Model.Import;

/// <summary>
/// <c>--weights mlnet-resnet18</c>: ML.NET's ImageNet-trained ResNet-18 from NuGet's packages folder, imported with
/// its preprocessing, a seeded fresh head and PyTorch's BatchNorm momentum; measurable like any network.
/// </summary>
public class PretrainedOnnxTests
{
    private static GraphNetwork Load(ulong seed = 7)
    {
        _ = MlNetResNet.Model; // skips, with the restore command, when the package is absent
        Assert.That(PretrainedOnnx.Available, Is.True, "the test support's package folder and PretrainedOnnx's agree");
        return (GraphNetwork)ModelLoader.LoadNetwork(PretrainedOnnx.MlNetResNet18, null, 10, seed: seed);
    }

    [Test]
    public void TheNameIsTheImportWithItsPreprocessingASeededHeadAndPyTorchsBatchNormMomentum()
    {
        using var a = Load();
        using var b = Load();
        using var c = Load(seed: 8);
        Assert.That(a.NumClasses, Is.EqualTo(10));
        Assert.That(a.Spec.Source, Does.Contain("ResNet18.onnx").And.Contain("ResNetPreprocess.onnx"));
        var norms = a.Module.modules().OfType<BatchNorm2d>().ToList();
        Assert.That(norms, Has.Count.EqualTo(a.Spec.Nodes.Count(n => n.Op == "BatchNorm")).And.Count.GreaterThan(0));
        Assert.That(a.Spec.Nodes.Where(n => n.Op == "BatchNorm").Select(n => n.Float("momentum", double.NaN)),
            Is.All.EqualTo(PretrainedOnnx.BatchNormMomentum), "the file's CNTK momentum (PyTorch's 0.0117) is replaced");
        Assert.That(a.Classifier.Weight.eq(b.Classifier.Weight).all().item<bool>(), Is.True, "the head is a function of the seed");
        Assert.That(a.Classifier.Weight.eq(c.Classifier.Weight).all().item<bool>(), Is.False);
    }

    [Test]
    public void AnArchitectureBesideTheNameIsRefused()
    {
        _ = MlNetResNet.Model;
        var ex = Assert.Throws<ArgumentException>(() => ModelLoader.LoadNetwork(PretrainedOnnx.MlNetResNet18, "resnet18", 10));
        Assert.That(ex!.Message, Does.Contain("--arch resnet18").And.Contain("drop --arch"));
    }

    /// <summary>Its MAC count runs (the graph's buffers-only 'constants' module is free) and its convolutions cost what
    /// their shapes say: out × in/groups × kH × kW × output pixels, summed over every Conv at 224 px.</summary>
    [Test]
    public void ItsConvolutionMacsAreWhatItsShapesSay()
    {
        using var network = Load();
        network.eval();
        using var x = zeros(1, 3, 224, 224);
        var shapes = network.TraceShapes(x);
        long expected = network.Spec.Nodes.Where(n => n.Op == "Conv")
            .Sum(n => n.Shape!.Aggregate(1L, (p, d) => p * d) * shapes[n.Outputs[0]][2] * shapes[n.Outputs[0]][3]);
        var report = MacCounter.Count(network.Module, 224);
        long convs = report.Layers.Where(l => l.Kind == LayerKind.Convolution).Sum(l => l.MacsThop);
        Assert.That(convs, Is.EqualTo(expected));
        Assert.That(report.Total(MacConvention.Thop), Is.GreaterThan(expected));
    }
    /// <summary>Every command resolves the name, not only the study: <c>train --weights mlnet-resnet18</c> records the
    /// ONNX file's hash and names its run after the network.</summary>
    [Test]
    public void TheNameResolvesToItsOnnxFileAndNamesTheNetwork()
    {
        _ = MlNetResNet.Model;
        Assert.That(ModelLoader.WeightsFile(PretrainedOnnx.MlNetResNet18, null, new Harness.Storage.Checkpoints.WeightsResolver()),
            Is.EqualTo(PretrainedOnnx.RequireModel()));
        Assert.That(ModelLoader.NetworkName("MLNET-ResNet18", null), Is.EqualTo("mlnet_resnet18"));
        Assert.That(ModelLoader.NetworkName(PretrainedOnnx.RequireModel(), null), Is.EqualTo("ResNet18"));
        Assert.That(ModelLoader.NetworkName("none", "resnet50"), Is.EqualTo("resnet50"));
        Assert.That(ModelLoader.NetworkName("imagenet", null), Is.EqualTo(ModelLoader.DefaultVariant));
    }
}
