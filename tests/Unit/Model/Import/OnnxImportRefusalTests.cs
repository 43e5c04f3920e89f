using Google.Protobuf;
using Harness.Model;
using Harness.Model.Import;
using Harness.OnnxSchema;
using Harness.Storage.Checkpoints;
using Harness.Tests.TestSupport;

namespace Harness.Tests.Unit.Model.Import;

/// <summary>
/// Hostile or broken ONNX files are refused before anything is allocated for them: one line naming the file (and
/// the node), an <see cref="InvalidDataException"/> (exit 2 on the command line), nothing written. The same cases,
/// with their peak memory, are in <c>bench/integrity-replay.sh</c> (crafted by <c>bench/craft_onnx.py</c>).
/// </summary>
public class OnnxImportRefusalTests : TempDirectoryTest
{
    private static ModelProto Small() => OnnxModels.Small();

    private static NodeProto Node(string op, string name, string[] inputs, string[] outputs) => OnnxModels.Node(op, name, inputs, outputs);

    private static ValueInfoProto Value(string name, params long[] dims) => OnnxModels.Value(name, dims);

    private static TensorProto Floats(string name, params long[] dims) => OnnxModels.Floats(name, null, dims);

    private string Write(ModelProto m, string name = "model.onnx")
    {
        string path = Path.Combine(Dir, name);
        File.WriteAllBytes(path, m.ToByteArray());
        return path;
    }

    private void Refused(string path, params string[] mentions)
    {
        var ex = Assert.Throws<InvalidDataException>(() => OnnxImporter.Import(new OnnxImportOptions(path)).Dispose())!;
        Assert.That(ex.Message, Does.Contain(path));
        foreach (var m in mentions) Assert.That(ex.Message, Does.Contain(m));
        var (code, stdout, stderr) = HarnessCli.Run("import", "onnx", path, "--out", Path.Combine(Dir, "out", "m.pth"));
        Assert.That(code, Is.EqualTo(2), stderr);
        Assert.That(stderr.TrimEnd().Split('\n'), Has.Length.EqualTo(1));
        Assert.That(stderr, Does.StartWith("error: "));
        Assert.That(stdout, Is.Empty);
        Assert.That(Directory.Exists(Path.Combine(Dir, "out")), Is.False, "nothing written");
    }

    [Test]
    public void TheSmallModelImports()
    {
        using var net = OnnxImporter.Import(new OnnxImportOptions(Write(Small())));
        Assert.That(net.NumClasses, Is.EqualTo(10));
        var (code, stdout, stderr) = HarnessCli.Run("import", "onnx", Path.Combine(Dir, "model.onnx"), "--out", Path.Combine(Dir, "out", "m.pth"), "--classes", "3");
        Assert.That(code, Is.Zero, stderr);
        Assert.That(stdout, Does.Contain("classifier 'fc': 4 → 3"));
        using var loaded = ModelLoader.LoadNetwork(Path.Combine(Dir, "out", "m.pth"));
        Assert.That(loaded.NumClasses, Is.EqualTo(3));
        var summary = HarnessCli.Run("summary", "--weights", Path.Combine(Dir, "out", "m.pth"));
        Assert.That(summary.Out, Does.Contain("stages (--freeze numbers them): 1"));
    }

    [Test]
    public void ChannelPruningOfAnImportWorksOnTheSpacesDerivedFromItsGraph()
    {
        string path = Write(Small());
        var graph = HarnessCli.Run("prune", "channel", "--weights", path, "--graph");
        Assert.That(graph.Code, Is.Zero, graph.Err);
        Assert.That(graph.Out, Does.Contain("group 0 [stem] 4 channels (0..3): conv out; fc in"));
        var (code, _, stderr) = HarnessCli.Run("prune", "channel", "--weights", path, "--ratio", "0.5", "--round-to", "1", "--out", Path.Combine(Dir, "out", "p.pth"));
        Assert.That(code, Is.Zero, stderr);
        using var pruned = ModelLoader.LoadNetwork(Path.Combine(Dir, "out", "p.pth"));
        Assert.That(pruned.PrunableLayers().First().Layer.Weight.shape[0], Is.EqualTo(2));
        Assert.That(pruned.Classifier.InFeatures, Is.EqualTo(2));
    }

    [Test]
    public void AConcatenationIsSeenAtItsOffsetsAndWhatCannotBeExpressedIsLeftUntouched()
    {
        var m = Small();
        // conv → Concat(c, c): the classifier reads the conv's channels twice, at offsets 0 and 4.
        m.Graph.Node.Insert(1, Node("Concat", "cat", ["c", "c"], ["cc"]));
        m.Graph.Node[2].Input[0] = "cc";
        int fc = m.Graph.Initializer.ToList().FindIndex(i => i.Name == "fc.weight");
        m.Graph.Initializer[fc] = Floats("fc.weight", 10, 8);
        string path = Write(m, "concat.onnx");
        var graph = HarnessCli.Run("prune", "channel", "--weights", path, "--graph");
        Assert.That(graph.Code, Is.Zero, graph.Err);
        Assert.That(graph.Out, Does.Contain("conv out; fc in; fc in at 4"));
        var (code, _, stderr) = HarnessCli.Run("prune", "channel", "--weights", path, "--ratio", "0.5", "--round-to", "1", "--out", Path.Combine(Dir, "out", "p.pth"));
        Assert.That(code, Is.Zero, stderr);
        using (var pruned = ModelLoader.LoadNetwork(Path.Combine(Dir, "out", "p.pth")))
            Assert.That(pruned.Classifier.InFeatures, Is.EqualTo(4), "two channels, seen twice");

        // A split of the channels is not derived: the conv's channels stay, and --graph says why.
        m = Small();
        m.Graph.Node.Insert(1, Node("Split", "split", ["c"], ["c1", "c2"]));
        m.Graph.Node[1].Attribute.Add(new AttributeProto { Name = "axis", Type = AttributeProto.Types.AttributeType.Int, I = 1 });
        m.Graph.Node[1].Attribute.Add(new AttributeProto { Name = "split", Type = AttributeProto.Types.AttributeType.Ints, Ints = { 2, 2 } });
        m.Graph.Node.Insert(2, Node("Add", "sum", ["c1", "c2"], ["s"]));
        m.Graph.Node[3].Input[0] = "s";
        m.Graph.Initializer[fc] = Floats("fc.weight", 10, 2);
        path = Write(m, "split.onnx");
        graph = HarnessCli.Run("prune", "channel", "--weights", path, "--graph");
        Assert.That(graph.Code, Is.Zero, graph.Err);
        Assert.That(graph.Out, Does.Contain("untouched conv: split by split"));
    }

    [Test]
    public void ATruncatedFileIsRefused()
    {
        var bytes = Small().ToByteArray();
        string path = Path.Combine(Dir, "truncated.onnx");
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
        Refused(path, "not an ONNX model");
    }

    [Test]
    public void ATextFileIsRefused()
    {
        string path = Path.Combine(Dir, "text.onnx");
        File.WriteAllText(path, string.Concat(Enumerable.Repeat("not a model\n", 50)));
        Refused(path, "not an ONNX model");
    }

    [TestCase("../../../../etc/passwd", "outside the model's folder")]
    [TestCase("/etc/hostname", "outside the model's folder")]
    [TestCase("missing.bin", "does not exist")]
    public void ExternalDataOutsideTheFolderOrMissingIsRefused(string location, string message)
    {
        var m = Small();
        var t = m.Graph.Initializer[0];
        t.RawData = ByteString.Empty;
        t.DataLocation = TensorProto.Types.DataLocation.External;
        t.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = location });
        Refused(Write(m), message);
    }

    [Test]
    public void ExternalDataInsideTheFolderIsRead()
    {
        var m = Small();
        var t = m.Graph.Initializer[0];
        var data = Enumerable.Range(0, 4 * 3 * 3 * 3).SelectMany(i => BitConverter.GetBytes((float)i)).ToArray();
        File.WriteAllBytes(Path.Combine(Dir, "weights.bin"), [.. new byte[8], .. data]);
        t.RawData = ByteString.Empty;
        t.DataLocation = TensorProto.Types.DataLocation.External;
        t.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = "weights.bin" });
        t.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = "8" });
        using var net = OnnxImporter.Import(new OnnxImportOptions(Write(m)));
        var w = net.PrunableLayers().First().Layer.Weight;
        Assert.That(w.flatten()[5].item<float>(), Is.EqualTo(5f));
    }

    [Test]
    public void AbsurdOrUnbackedDimensionsAreRefused()
    {
        var m = Small();
        m.Graph.Initializer[0].Dims.Clear();
        m.Graph.Initializer[0].Dims.AddRange([1L << 40, 1L << 20, 3, 3]);
        Refused(Write(m, "absurd.onnx"), "out of range");
        m = Small();
        m.Graph.Initializer[0].Dims.Clear();
        m.Graph.Initializer[0].Dims.AddRange([8, 3, 4096, 4096]); // 2 GiB declared
        Refused(Write(m, "declared.onnx"), "holds 432 bytes");
        m = Small();
        m.Graph.Input[0] = Value("input", 1, 3, 1 << 20, 1 << 20);
        Refused(Write(m, "input.onnx"), "1–8192");
    }

    [Test]
    public void ACycleOrADanglingInputIsRefusedByNodeName()
    {
        var m = Small();
        m.Graph.Node[0].Input[0] = "r"; // the conv reads the relu that follows it
        Refused(Write(m, "cycle.onnx"), "node 'conv'", "'r'");
        m = Small();
        m.Graph.Node[1].Input[0] = "nowhere";
        Refused(Write(m, "dangling.onnx"), "node 'relu'", "'nowhere'");
    }

    [Test]
    public void DuplicateNamesAreRefused()
    {
        var m = Small();
        m.Graph.Node.Insert(2, Node("Relu", "again", ["r"], ["r"]));
        Refused(Write(m, "output.onnx"), "node 'again'", "already defined");
        m = Small();
        m.Graph.Initializer.Add(m.Graph.Initializer[0].Clone());
        Refused(Write(m, "initializer.onnx"), "'conv.weight' is defined twice");
    }

    [Test]
    public void AnUnsupportedOperatorIsRefusedWithTheSupportedList()
    {
        var m = Small();
        m.Graph.Node.Add(Node("Softmax", "softmax", ["logits"], ["probs"]));
        m.Graph.Output[0].Name = "probs";
        Refused(Write(m), "node 'softmax' (Softmax)", "supported: Conv, BatchNormalization");
    }

    [Test]
    public void ATamperedGraphRecordIsRefusedBeforeAnyLayerIsBuilt()
    {
        using var net = OnnxImporter.Import(new OnnxImportOptions(Write(Small())));
        string path = Path.Combine(Dir, "m.pth");
        ModelLoader.Save(net, path);
        foreach (var (from, to, why) in new[]
                 {
                     ("\"op\":\"Relu\"", "\"op\":\"Softmax\"", "unknown operator"),
                     ("\"inputs\":[\"c\"]", "\"inputs\":[\"r\"]", "reads 'r'"),
                     ("\"shape\":[4,3,3,3]", "\"shape\":[4,3,3000000,3]", "its shape must be"),
                 })
        {
            var (sd, meta) = CheckpointFile.Load(path);
            using (sd)
            {
                Assert.That(meta, Does.Contain(from));
                string tampered = Path.Combine(Dir, "tampered.pth");
                CheckpointFile.Save(tampered, sd, meta!.Replace(from, to));
                var ex = Assert.Throws<CheckpointFormatException>(() => ModelLoader.LoadNetwork(tampered).Dispose())!;
                Assert.That(ex.Message, Does.Contain(why));
            }
        }
    }
}
