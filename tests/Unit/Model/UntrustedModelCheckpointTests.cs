using Harness.Model;
using Harness.Model.Families;
using Harness.Storage.Checkpoints;
using Harness.Tests.TestSupport;
using System.Text.Json.Nodes;
using static TorchSharp.torch;

namespace Harness.Tests.Unit.Model;

/// <summary>
/// Rebuilding a network from a checkpoint checks the widths (from the metadata record or from the tensor shapes)
/// before any layer is built: a bad number is a <see cref="CheckpointFormatException"/>, widths that disagree with
/// the tensors a <see cref="CheckpointMismatchException"/>, both naming the file.
/// </summary>
public class UntrustedModelCheckpointTests : TempDirectoryTest
{
    private static EfficientNet Tiny() => EfficientNet.Create(EfficientNetConfig.Scaled(0.1, 0.1, 3));

    private string PathOf(string name) => Path.Combine(Dir, name);

    /// <summary>Saves the tiny network with its widths JSON passed through <paramref name="edit"/>.</summary>
    private string SaveWithEditedWidths(string name, Action<JsonObject> edit)
    {
        using var model = Tiny();
        var json = JsonNode.Parse(model.Widths.ToJson())!.AsObject();
        edit(json);
        string path = PathOf(name);
        TorchCheckpoint.Save(path, model, json.ToJsonString());
        return path;
    }

    private static JsonObject FirstBlock(JsonObject widths) => widths["blocks"]![0]!.AsObject();

    private static readonly (string Name, Action<JsonObject> Edit, string Because)[] WidthEdits =
    [
        ("head 2e8", w => w["head"] = 200_000_000, "Head"),
        ("stem -32", w => w["stem"] = -32, "Stem"),
        ("0 classes", w => w["numClasses"] = 0, "NumClasses"),
        ("stride 0", w => FirstBlock(w)["stride"] = 0, "Stride"),
        ("kernel 4097", w => FirstBlock(w)["kernel"] = 4097, "Kernel"),
        ("expanded 1<<20", w => FirstBlock(w)["expanded"] = 1 << 20, "Expanded"),
        ("squeeze 0", w => FirstBlock(w)["squeeze"] = 0, "Squeeze"),
        ("dropout 5", w => w["dropout"] = 5.0, "Dropout"),
        ("stage 0", w => FirstBlock(w)["stage"] = 0, "stage"),
        ("index 7", w => FirstBlock(w)["index"] = 7, "index"),
        ("block input ≠ stem", w => FirstBlock(w)["in"] = 24, "input"),
        ("no blocks", w => w["blocks"] = new JsonArray(), "block"),
        ("missing head", w => w.Remove("head"), "metadata"),
        ("missing block field", w => FirstBlock(w).Remove("out"), "metadata"),
        ("stem as a string", w => w["stem"] = "32", "metadata"),
        ("blocks as a number", w => w["blocks"] = 3, "metadata"),
        ("null blocks", w => w["blocks"] = null, "metadata"),
        ("stem 1e40", w => w["stem"] = 1e40, "metadata"),
    ];

    private static IEnumerable<TestCaseData> WidthEditCases() =>
        WidthEdits.Select(e => new TestCaseData(e.Name, e.Because).SetName($"EditedWidths({e.Name})IsAFormatError"));

    [TestCaseSource(nameof(WidthEditCases))]
    public void EditedWidthsMetadataIsRefusedBeforeTheNetworkIsBuilt(string edit, string because)
    {
        string path = SaveWithEditedWidths("edited.pth", WidthEdits.Single(e => e.Name == edit).Edit);
        var ex = Assert.Throws<CheckpointFormatException>(() => EfficientNets.LoadCheckpoint(path).Dispose());
        Assert.That(ex!.Message, Does.Contain(path).And.Contain(because));
    }

    [Test]
    public void MetadataThatIsNotJsonIsAFormatError()
    {
        using var model = Tiny();
        string path = PathOf("text.pth");
        TorchCheckpoint.Save(path, model, "{\"stem\": 8, \"blo");
        var ex = Assert.Throws<CheckpointFormatException>(() => EfficientNets.LoadCheckpoint(path).Dispose());
        Assert.That(ex!.Message, Does.Contain(path));
    }

    [Test]
    public void ValidWidthsThatDisagreeWithTheTensorsAreAMismatchNamingTheLayer()
    {
        string path = SaveWithEditedWidths("disagree.pth", w => w["head"] = w["head"]!.GetValue<int>() + 8);
        var ex = Assert.Throws<CheckpointMismatchException>(() => EfficientNets.LoadCheckpoint(path).Dispose());
        Assert.That(ex!.Message, Does.Contain(path).And.Contain("features.8.0.weight").And.Contain("classifier.1.weight"));
    }

    private string SaveWithTensor(string name, string key, Tensor replacement, bool metadata)
    {
        using var model = Tiny();
        using var sd = StateDict.FromModule(model);
        using var edited = new StateDict();
        foreach (var (k, v) in sd.Items) edited.Add(k, k == key ? replacement : v.clone());
        string path = PathOf(name);
        TorchCheckpoint.Save(path, edited, metadata ? model.Widths.ToJson() : null);
        return path;
    }

    [Test]
    public void OneDimensionalDepthwiseWeightWithoutMetadataIsAFormatError()
    {
        string path = SaveWithTensor("dw1d.pth", "features.1.0.block.0.0.weight", zeros(72), metadata: false);
        var ex = Assert.Throws<CheckpointFormatException>(() => EfficientNets.LoadCheckpoint(path).Dispose());
        Assert.That(ex!.Message, Does.Contain(path).And.Contain("features.1.0.block.0.0.weight"));
    }

    [Test]
    public void OneDimensionalDepthwiseWeightWithMetadataIsAMismatchNamingTheLayer()
    {
        string path = SaveWithTensor("dw1d-meta.pth", "features.1.0.block.0.0.weight", zeros(72), metadata: true);
        var ex = Assert.Throws<CheckpointMismatchException>(() => EfficientNets.LoadCheckpoint(path).Dispose());
        Assert.That(ex!.Message, Does.Contain(path).And.Contain("features.1.0.block.0.0.weight"));
    }

    [Test]
    public void StemWeightWithAHugeEmptyDimensionIsAFormatError()
    {
        // [2^33 + 8, 0, 3, 3] holds no element, and its first dimension must not wrap into a plausible width.
        string path = SaveWithTensor("empty-dim.pth", "features.0.0.weight", empty(new[] { (1L << 33) + 8, 0, 3, 3 }),
            metadata: false);
        var ex = Assert.Throws<CheckpointFormatException>(() => EfficientNets.LoadCheckpoint(path).Dispose());
        Assert.That(ex!.Message, Does.Contain(path).And.Contain("features.0.0.weight"));
    }

    [Test]
    public void MaskOfTheWrongShapeIsAMismatchNamingTheMask()
    {
        using var model = Tiny();
        foreach (var (_, layer) in model.PrunableLayers()) layer.ApplyMask(ones(layer.Weight.shape));
        using var sd = StateDict.FromModule(model);
        using var edited = new StateDict();
        foreach (var (k, v) in sd.Items) edited.Add(k, k == "classifier.1.weight_mask" ? ones(2, 2) : v.clone());
        string path = PathOf("mask.pth");
        TorchCheckpoint.Save(path, edited, model.Widths.ToJson());
        var ex = Assert.Throws<CheckpointMismatchException>(() => EfficientNets.LoadCheckpoint(path).Dispose());
        Assert.That(ex!.Message, Does.Contain(path).And.Contain("classifier.1.weight_mask"));
    }

    [Test]
    public void StageNumberBeyondInt32InAKeyIsAFormatError()
    {
        string path = SaveWithTensor("stage.pth", "features.1.0.block.0.0.weight", zeros(8, 1, 3, 3), metadata: false);
        using (var sd = TorchCheckpoint.Load(path))
        using (var edited = new StateDict())
        {
            foreach (var (k, v) in sd.Items) edited.Add(k, v.clone());
            edited.Add("features.99999999999.0.block.0.0.weight", zeros(8, 1, 3, 3));
            TorchCheckpoint.Save(path, edited);
        }
        var ex = Assert.Throws<CheckpointFormatException>(() => EfficientNets.LoadCheckpoint(path).Dispose());
        Assert.That(ex!.Message, Does.Contain(path));
    }

    [Test]
    public void UneditedTinyCheckpointStillLoadsWithAndWithoutMetadata()
    {
        using var model = Tiny();
        string withMeta = PathOf("meta.pth"), withoutMeta = PathOf("plain.pth");
        ModelLoader.Save(model, withMeta);
        TorchCheckpoint.Save(withoutMeta, model);
        using var a = EfficientNets.LoadCheckpoint(withMeta);
        using var b = EfficientNets.LoadCheckpoint(withoutMeta);
        Assert.That(a.Widths, Is.EqualTo(model.Widths));
        Assert.That(b.Widths, Is.EqualTo(model.Widths));
    }
}
