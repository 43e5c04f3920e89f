using Harness.Data;
using Harness.Model.Families;
using Harness.Model.Import;
using Harness.Tests.TestSupport;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using static TorchSharp.torch;
using Tensor = TorchSharp.torch.Tensor;

namespace Harness.Tests.Unit.Model.Import;

/// <summary>
/// ML.NET's ImageNet-trained ResNet-18 (CNTK 2.6's export: opset 8, <c>ParameterNN</c> names, asymmetric pads, a
/// final 7×7 AveragePool, no classifier) imported with its preprocessing graph (RGB → BGR, minus a 224×224 mean
/// image, on 0–255 pixels) folded in front: on real CIFAR-10 images resized to 224 and normalised as Harness
/// normalises them, its 512 features equal those of ONNX Runtime running the two original files chained on the same
/// pixels in 0–255.
/// </summary>
public class MlNetResNetImportTests
{
    private const int Images = 6;

    [Test]
    public void FeaturesOfTheImportWithItsPreprocessingEqualOnnxRuntimeOnTheTwoOriginalFiles()
    {
        string model = MlNetResNet.Model, pre = MlNetResNet.Preprocess;
        var data = DatasetLocator.Open(SharedData.RequireShared("cifar10-sample")).Test;
        var transform = new BatchTransform { ImageSize = 224 };
        using var batch = new BatchLoader(data, Images, shuffle: false, transform, CPU).Epoch(0).First();
        using var network = OnnxImporter.Import(new OnnxImportOptions(model, pre));
        network.eval();
        Assert.That(network.Classifier.InFeatures, Is.EqualTo(512));
        Assert.That(network.Spec.Nodes.Count(n => n.Op == "GlobalAveragePool"), Is.EqualTo(1), "the 7×7 pool over a 7×7 map pools globally");
        using var harness = Features(network, batch.Images);

        using var options = new SessionOptions { IntraOpNumThreads = 2 };
        using var preSession = new InferenceSession(pre, options);
        using var resnet = new InferenceSession(model, options);
        using var mean = tensor(transform.Mean).to(float32).reshape(1, 3, 1, 1);
        using var std = tensor(transform.Std).to(float32).reshape(1, 3, 1, 1);
        using var pixels = batch.Images.mul(std).add(mean).mul(255).contiguous();
        var expected = new List<float[]>();
        for (int i = 0; i < Images; i++)
        {
            var one = pixels[i].unsqueeze(0).contiguous().data<float>().ToArray();
            using var prepared = preSession.Run([NamedOnnxValue.CreateFromTensor("OriginalInput", new DenseTensor<float>(one, [1, 3, 224, 224]))]);
            var bgr = prepared.First().AsTensor<float>().ToArray();
            using var features = resnet.Run([NamedOnnxValue.CreateFromTensor("Input247", new DenseTensor<float>(bgr, [1, 3, 224, 224]))]);
            expected.Add(features.First().AsTensor<float>().ToArray());
        }
        using var reference = tensor(expected.SelectMany(e => e).ToArray()).reshape(Images, 512);
        double relative = MaxRelative(reference, harness);

        // At 224 the mean image's per-channel means instead of the image itself (what the import uses at other sizes).
        using var channelMean = ChannelMeanVariant(network, batch.Images);
        double channelMeanCost = MaxRelative(reference, channelMean);
        TestContext.Out.WriteLine($"ML.NET ResNet-18, {Images} CIFAR-10 test images at 224: max relative error of the 512 features vs ONNX Runtime {relative:E2}; " +
                                  $"with the mean image's per-channel means instead {channelMeanCost:E2}");
        Assert.That(relative, Is.LessThanOrEqualTo(1e-3));
    }

    [Test]
    public void AtAnotherSizeTheImportRunsWithTheMeanImagesChannelMeansAndGlobalPooling()
    {
        using var network = OnnxImporter.Import(new OnnxImportOptions(MlNetResNet.Model, MlNetResNet.Preprocess));
        network.eval();
        using var x = randn(2, 3, 64, 64);
        using var features = Features(network, x);
        Assert.That(features.shape, Is.EqualTo(new long[] { 2, 512 }));
        Assert.That(features.isfinite().all().item<bool>(), Is.True);
    }

    [Test]
    public void ExportedForAnotherSizeItRunsInOnnxRuntimeWithHarnesssAnswers()
    {
        using var network = OnnxImporter.Import(new OnnxImportOptions(MlNetResNet.Model, MlNetResNet.Preprocess));
        network.eval();
        var classes = Enumerable.Range(0, 10).Select(i => $"c{i}").ToList();
        using var session = new InferenceSession(Harness.Export.OnnxExporter.ToBytes(network,
            new Harness.Export.OnnxExportOptions { ImageSize = 64, ClassNames = classes }));
        using var x = randn(2, 3, 64, 64);
        using var expected = Logits(network, x);
        using var results = session.Run([NamedOnnxValue.CreateFromTensor(Harness.Export.OnnxExporter.InputName,
            new DenseTensor<float>(x.contiguous().data<float>().ToArray(), [2, 3, 64, 64]))]);
        using var actual = tensor(results.First().AsTensor<float>().ToArray()).reshape(2, 10);
        Assert.That((actual - expected).abs().max().item<float>(), Is.LessThanOrEqualTo(1e-4f));
    }

    private static Tensor Logits(GraphNetwork network, Tensor x)
    {
        using var _ = no_grad();
        return network.call(x);
    }

    private static Tensor Features(GraphNetwork network, Tensor x)
    {
        using var _ = no_grad();
        return network.Features(x);
    }

    private static Tensor ChannelMeanVariant(GraphNetwork network, Tensor x)
    {
        var buffer = network.named_buffers().Single(b => b.name.StartsWith("constants.", StringComparison.Ordinal)).buffer;
        using var original = buffer.clone();
        using (no_grad())
        {
            using var means = buffer.mean([-2, -1], keepdim: true);
            buffer.copy_(means.expand_as(buffer));
        }
        try
        {
            return Features(network, x);
        }
        finally
        {
            using (no_grad()) buffer.copy_(original);
        }
    }

    private static double MaxRelative(Tensor expected, Tensor actual)
    {
        using var scope = NewDisposeScope();
        return (actual.to(float64) - expected.to(float64)).abs().max().item<double>() / expected.abs().max().to(float64).item<double>();
    }
}
