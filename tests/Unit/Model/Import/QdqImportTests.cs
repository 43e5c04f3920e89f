using Google.Protobuf;
using Harness.Export;
using Harness.Export.Quantization;
using Harness.Model;
using Harness.Model.Import;
using Harness.Model.Networks;
using Harness.OnnxSchema;
using Harness.Tests.TestSupport;
using static TorchSharp.torch;

namespace Harness.Tests.Unit.Model.Import;

/// <summary>A QDQ model (Harness's int8 export) imports as the float network it approximates: its weights are the
/// dequantized int8 weights, so its logits differ from the float original only by weight rounding; a QDQ graph
/// that is not made of pairs and constants is one line naming the node.</summary>
public class QdqImportTests : TempDirectoryTest
{
    private static readonly OnnxExportOptions Options = new() { ClassNames = [.. Enumerable.Range(0, 10).Select(i => $"c{i}")], ImageSize = 32 };

    private static IReadOnlyList<(float[] Data, int[] Shape)> Images()
    {
        manual_seed(1);
        using var x = randn(8, 3, 32, 32);
        return [(x.data<float>().ToArray(), [8, 3, 32, 32])];
    }

    [TestCase("resnet18")]
    [TestCase("mobilenet_v2")]
    [TestCase("efficientnet_b0")]
    public void AQdqModelImportsAsItsDequantizedFloatNetwork(string arch)
    {
        manual_seed(3);
        using var model = Architectures.Create(arch, 10).Build();
        RandomBatchNorm.Randomise(model.Module, 4);
        model.Module.eval();
        string path = Path.Combine(Dir, "m.int8.onnx");
        var int8 = Int8Exporter.Build(model, Options, new QuantizationOptions(), Images(), 1);
        File.WriteAllBytes(path, int8.ToByteArray());
        using var imported = ModelLoader.LoadNetwork(path);
        imported.Module.eval();
        Assert.That(imported.PrunableLayers().Count(), Is.EqualTo(model.PrunableLayers().Count()));
        using var _ = no_grad();
        manual_seed(9);
        using var x = randn(4, 3, 32, 32);
        using var expected = model.Module.call(x);
        using var actual = imported.Module.call(x);
        double relative = ((actual - expected).norm() / (expected - expected.mean([1], keepdim: true)).norm()).item<float>();
        TestContext.Out.WriteLine($"{arch}: relative logit error of the dequantized network {relative:F4}");
        Assert.That(relative, Is.LessThan(0.05), "only the weights' rounding (half a step per channel) separates them");
        // Its weights are exactly the dequantized ones: re-quantizing them gives the same int8 values.
        var again = Int8Exporter.Build(imported, Options, new QuantizationOptions(), Images(), 1);
        var q1 = int8.Graph.Initializer.Where(t => t.Name.EndsWith("/int8", StringComparison.Ordinal)).Select(t => t.RawData).ToList();
        var q2 = again.Graph.Initializer.Where(t => t.Name.EndsWith("/int8", StringComparison.Ordinal)).Select(t => t.RawData).ToList();
        Assert.That(q2, Has.Count.EqualTo(q1.Count));
        Assert.That(q2.Zip(q1).Count(p => p.First.Equals(p.Second)), Is.EqualTo(q1.Count), "re-quantizing the imported weights gives the same int8 tensors");
    }

    [Test]
    public void AQuantizeLinearThatLeadsElsewhereIsOneLineNamingIt()
    {
        var int8 = ResNet18Int8();
        var q = int8.Graph.Node.First(n => n.OpType == "QuantizeLinear" && int8.Graph.Node.Any(d => d.OpType == "DequantizeLinear" && d.Input[0] == n.Output[0]));
        var dq = int8.Graph.Node.First(n => n.OpType == "DequantizeLinear" && n.Input[0] == q.Output[0]);
        foreach (var reader in int8.Graph.Node.Where(n => n.Input.Contains(dq.Output[0])))
            for (int i = 0; i < reader.Input.Count; i++)
                if (reader.Input[i] == dq.Output[0]) reader.Input[i] = q.Output[0];
        int8.Graph.Node.Remove(dq);
        string path = Path.Combine(Dir, "broken.onnx");
        File.WriteAllBytes(path, int8.ToByteArray());
        var ex = Assert.Throws<InvalidDataException>(() => ModelLoader.LoadNetwork(path).Dispose());
        Assert.That(ex!.Message, Is.EqualTo($"{path}: QuantizeLinear '{q.Name}' is not followed only by DequantizeLinear; only QDQ pairs can be imported"));
    }

    /// <summary>The export's channel padding of the stem's input (3 → 4) is undone at import: the stem reads the
    /// image's 3 channels again. A Pad of a quantized tensor that is not such a padding is one line naming it.</summary>
    [Test]
    public void TheStemsChannelPaddingIsUndoneAndAnyOtherPadOfAQuantizedTensorIsRefused()
    {
        var int8 = ResNet18Int8();
        var pad = int8.Graph.Node.Single(n => n.OpType == "Pad");
        string path = Path.Combine(Dir, "m.int8.onnx");
        File.WriteAllBytes(path, int8.ToByteArray());
        using (var imported = ModelLoader.LoadNetwork(path))
            Assert.That(imported.PrunableLayers().First().Layer.Weight.shape[1], Is.EqualTo(3), "the stem reads the image's three channels");

        // The same Pad widening the height instead: not the export's channel padding.
        var pads = int8.Graph.Initializer.Single(t => t.Name == pad.Input[1]);
        var values = new long[8];
        values[2] = 1;
        pads.RawData = ByteString.CopyFrom(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()));
        string broken = Path.Combine(Dir, "broken.onnx");
        File.WriteAllBytes(broken, int8.ToByteArray());
        var ex = Assert.Throws<InvalidDataException>(() => ModelLoader.LoadNetwork(broken).Dispose());
        Assert.That(ex!.Message, Does.StartWith($"{broken}: Pad '{pad.Name}' of a quantized tensor: pads [0, 0, 1, 0, 0, 0, 0, 0]")
            .And.EndWith("only the int8 export's channel padding of a Conv's input can be imported"));
        Assert.That(ex.Message.Split('\n'), Has.Length.EqualTo(1));
    }

    /// <summary>A seeded random ResNet-18's int8 export.</summary>
    private static ModelProto ResNet18Int8()
    {
        manual_seed(3);
        using var model = Architectures.Create("resnet18", 10).Build();
        model.Module.eval();
        return Int8Exporter.Build(model, Options, new QuantizationOptions(), Images(), 1);
    }
}
