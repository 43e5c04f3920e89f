using Harness.Export;
using Harness.Model;
using Harness.Model.Families;
using Harness.Model.Import;
using Harness.Model.Networks;
using Harness.Pruning.FineGrained;
using Harness.Storage.Checkpoints;
using Harness.Tests.TestSupport;
using static TorchSharp.torch;

namespace Harness.Tests.Unit.Model.Import;

/// <summary>
/// Imported graph networks without PyTorch: every declared family exported by Harness (<c>export onnx</c>, BatchNorm
/// unfolded and folded) and imported again computes the same logits, with the same state-dict names when BatchNorm
/// is kept; an import's checkpoint (PyTorch zip, safetensors, Harness's sparse format) rebuilds it from the graph
/// in its metadata, masks and a new head included; fine-grained pruning, head replacement and re-export work on it.
/// </summary>
public class GraphNetworkTests : TempDirectoryTest
{
    public static IEnumerable<string> Families => Registry.OnePerFamily;

    private static IPrunableNetwork Seeded(string arch)
    {
        manual_seed(7);
        var model = Architectures.Create(arch, 10).Build();
        RandomBatchNorm.Randomise(model.Module, 8);
        model.Module.eval();
        return model;
    }

    private string Export(IPrunableNetwork model, bool foldBatchNorm, string name = "model.onnx")
    {
        string path = Path.Combine(Dir, name);
        var classes = Enumerable.Range(0, model.NumClasses).Select(i => $"class_{i}").ToList();
        File.WriteAllBytes(path, OnnxExporter.ToBytes(model, new OnnxExportOptions { FoldBatchNorm = foldBatchNorm, ClassNames = classes }));
        return path;
    }

    private static Tensor Logits(nn.Module<Tensor, Tensor> model, Tensor x)
    {
        using var _ = no_grad();
        model.eval();
        return model.call(x);
    }

    [TestCaseSource(nameof(Families))]
    public void HarnesssOwnExportImportsToTheSameNetwork(string arch)
    {
        using var model = Seeded(arch);
        using var x = randn(2, 3, 64, 64);
        using var expected = Logits(model.Module, x);
        foreach (bool fold in new[] { false, true })
        {
            using var imported = OnnxImporter.Import(new OnnxImportOptions(Export(model, fold)));
            using var actual = Logits(imported, x);
            Assert.That((actual - expected).abs().max().item<float>(), Is.LessThanOrEqualTo(1e-4f), $"fold {fold}");
            Assert.That(imported.NumClasses, Is.EqualTo(10));
            if (fold) continue;
            // BatchNorm kept: every tensor has the family's state-dict name, so the declared family loads it strictly.
            using var sd = StateDict.FromModule(imported);
            using var own = Architectures.Create(arch, 10).Build();
            StateDictLoader.Load(own.Module, sd, strict: true, sourceName: "import");
            using var again = Logits(own.Module, x);
            Assert.That((again - expected).abs().max().item<float>(), Is.LessThanOrEqualTo(1e-5f));
            Assert.That(imported.Stages, Has.Count.GreaterThanOrEqualTo(4), "the stages between downsamplings");
        }
    }

    [TestCase(".pth"), TestCase(".safetensors"), TestCase(".hsp")]
    public void ACheckpointOfAnImportRebuildsFromItsGraphMasksIncluded(string extension)
    {
        using var model = Seeded("resnet18");
        using var imported = OnnxImporter.Import(new OnnxImportOptions(Export(model, foldBatchNorm: false), NumClasses: 7, Seed: 3));
        Assert.That(imported.NumClasses, Is.EqualTo(7), "a new head of 7 classes");
        FineGrainedPruner.Prune(imported, new FineGrainedOptions { Amount = 0.5 });
        using var x = randn(2, 3, 48, 48);
        using var expected = Logits(imported, x);
        string path = Path.Combine(Dir, "import" + extension);
        ModelLoader.Save(imported, path);
        using var loaded = ModelLoader.LoadNetwork(path);
        Assert.That(loaded, Is.InstanceOf<GraphNetwork>());
        Assert.That(loaded.NumClasses, Is.EqualTo(7));
        Assert.That(ModelLoader.IsMasked(loaded), Is.True, "the masks come back");
        using var actual = Logits(loaded.Module, x);
        Assert.That((actual - expected).abs().max().item<float>(), Is.LessThanOrEqualTo(1e-5f));
        Assert.That(loaded.Stages.Select(s => s.Count), Is.EqualTo(imported.Stages.Select(s => s.Count)));
    }

    [Test]
    public void TheHeadIsReplacedAndTheImportExportsAgain()
    {
        using var model = Seeded("mobilenet_v2");
        using var imported = OnnxImporter.Import(new OnnxImportOptions(Export(model, foldBatchNorm: true)));
        imported.ReplaceClassifier(3);
        Assert.That(imported.NumClasses, Is.EqualTo(3));
        using var x = randn(1, 3, 64, 64);
        using var expected = Logits(imported, x);
        using var again = OnnxImporter.Import(new OnnxImportOptions(Export(imported, foldBatchNorm: false, "again.onnx")));
        using var actual = Logits(again, x);
        Assert.That((actual - expected).abs().max().item<float>(), Is.LessThanOrEqualTo(1e-4f));
        using var ort = OnnxRuntimeModel.Export(again, ["a", "b", "c"], 1, "again");
        using var ortLogits = ort.Logits(x);
        Assert.That((ortLogits - expected).abs().max().item<float>(), Is.LessThanOrEqualTo(1e-4f));
    }

    [Test]
    public void BatchNormFoldsIntoTheConvsOfAnImport()
    {
        using var model = Seeded("efficientnet_b0");
        using var imported = OnnxImporter.Import(new OnnxImportOptions(Export(model, foldBatchNorm: false)));
        imported.eval();
        using var folded = BatchNormFolding.Fold(imported);
        Assert.That(BatchNormFolding.IsFolded(folded), Is.True);
        Assert.That(folded.Module.named_modules().Count(m => m.module is TorchSharp.Modules.BatchNorm2d), Is.Zero);
        using var x = randn(2, 3, 64, 64);
        using var expected = Logits(imported, x);
        using var actual = Logits(folded.Module, x);
        Assert.That((actual - expected).abs().max().item<float>(), Is.LessThanOrEqualTo(1e-4f));
        using var ort = OnnxRuntimeModel.Export(folded, Enumerable.Range(0, 10).Select(i => $"c{i}").ToList(), 1, "folded");
        using var ortLogits = ort.Logits(x);
        Assert.That((ortLogits - expected).abs().max().item<float>(), Is.LessThanOrEqualTo(1e-4f));
    }

    [Test]
    public void AFeatureExtractorGetsFlattenAndALinearHead()
    {
        // EfficientNet's graph without its classifier: the network ends in pooled features, 1280×1×1.
        using var model = Seeded("efficientnet_b0");
        string path = Export(model, foldBatchNorm: true);
        var proto = OnnxImporter.ReadModel(path);
        var graph = proto.Graph;
        var gemm = graph.Node.Single(n => n.OpType == "Gemm");
        var flatten = graph.Node.Single(n => n.OpType == "Flatten");
        graph.Node.Remove(gemm);
        graph.Node.Remove(flatten);
        graph.Output[0].Name = flatten.Input[0];
        graph.Output[0].Type.TensorType.Shape.Dim.Clear();
        foreach (var i in graph.Initializer.Where(i => gemm.Input.Contains(i.Name)).ToList()) graph.Initializer.Remove(i);
        File.WriteAllBytes(path, Google.Protobuf.MessageExtensions.ToByteArray(proto));
        using var imported = OnnxImporter.Import(new OnnxImportOptions(path, NumClasses: 4));
        Assert.That(imported.Classifier.InFeatures, Is.EqualTo(1280));
        Assert.That(imported.NumClasses, Is.EqualTo(4));
        Assert.That(imported.Spec.Nodes.TakeLast(2).Select(n => n.Op), Is.EqualTo(new[] { "Flatten", "Linear" }));
        using var x = randn(2, 3, 32, 32);
        using var features = imported.Features(x);
        Assert.That(features.shape, Is.EqualTo(new long[] { 2, 1280 }));
    }
}
