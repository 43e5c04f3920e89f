using Harness.Model;
using Harness.Model.Families;
using Harness.Storage.Checkpoints;
using Harness.Storage.Pickle;
using Harness.Tests.TestSupport;
using System.IO.Compression;
using System.Text;
using static TorchSharp.torch;

namespace Harness.Tests.Unit.Storage.Checkpoints;

public class TorchCheckpointTests : TempDirectoryTest
{
    private string PathOf(string name) => Path.Combine(Dir, name);

    [Test]
    public void SaveThenLoadGivesIdenticalTensorsInTheSameOrder()
    {
        using var sd = new StateDict();
        sd.Add("w", randn(3, 4, 2, 2));
        sd.Add("b", tensor(new[] { -0.0f, float.NaN, float.PositiveInfinity, 1e-30f }));
        sd.Add("n", tensor(7L));
        sd.Add("i", tensor(new[] { 1, 2, 3 }));
        sd.Add("h", randn(5).to(float16));
        sd.Add("m", tensor(new[] { true, false }));
        sd.Add("e", empty(0, 3));
        string path = PathOf("a.pth");
        TorchCheckpoint.Save(path, sd);
        using var back = TorchCheckpoint.Load(path);
        Assert.That(back.Keys, Is.EqualTo(sd.Keys));
        foreach (var (key, t) in sd.Items)
        {
            Assert.That(back[key].dtype, Is.EqualTo(t.dtype), key);
            Assert.That(back[key].shape, Is.EqualTo(t.shape), key);
            Assert.That(back[key].bytes.ToArray(), Is.EqualTo(t.contiguous().bytes.ToArray()), $"{key} bit-exact");
        }
        Assert.That(Directory.GetFiles(Dir), Is.EquivalentTo(new[] { path }), "no temporary file is left");
    }

    [Test]
    public void WrittenArchiveHasTorchLayoutWithAlignedRecords()
    {
        using var sd = new StateDict();
        sd.Add("x", ones(10));
        string path = PathOf("layout.pth");
        TorchCheckpoint.Save(path, sd, "{\"k\":1}");
        using var zip = ZipFile.OpenRead(path);
        Assert.That(zip.Entries.Select(e => e.FullName), Is.EquivalentTo(new[]
        {
            "layout/data.pkl", "layout/byteorder", "layout/data/0", "layout/extra/harness.json", "layout/version",
            "layout/.data/serialization_id",
        }));
        Assert.That(TorchCheckpoint.ReadMetadata(path), Is.EqualTo("{\"k\":1}"));
        // Data of every record starts on a 64-byte boundary, as torch's writer does.
        byte[] bytes = File.ReadAllBytes(path);
        int dataStart = Encoding.ASCII.GetString(bytes).IndexOf("layout/data/0", StringComparison.Ordinal) + "layout/data/0".Length;
        int extraLen = BitConverter.ToUInt16(bytes, dataStart - "layout/data/0".Length - 2);
        Assert.That((dataStart + extraLen) % 64, Is.EqualTo(0));
    }

    /// <summary>The bytes torch.save (protocol 2) writes for OrderedDict(a=tensor([1., 2., 3.]), n=tensor(5)),
    /// including memo opcodes, a shared OrderedDict global, TUPLE1 and the _metadata BUILD.</summary>
    private static byte[] TorchStylePickle()
    {
        var b = new List<byte> { 0x80, 0x02 };
        void S(string s) => b.AddRange(Encoding.ASCII.GetBytes(s));
        void U(string s) { b.Add((byte)'X'); b.AddRange(BitConverter.GetBytes(s.Length)); S(s); }
        void Put(byte i) { b.Add((byte)'q'); b.Add(i); }
        S("ccollections\nOrderedDict\n"); Put(0); b.Add((byte)')'); b.Add((byte)'R'); Put(1);
        b.Add((byte)'(');
        U("a"); Put(2);
        S("ctorch._utils\n_rebuild_tensor_v2\n"); Put(3);
        b.Add((byte)'('); b.Add((byte)'(');
        U("storage"); Put(4); S("ctorch\nFloatStorage\n"); Put(5); U("0"); Put(6); U("cpu"); Put(7); b.AddRange([(byte)'K', 3]);
        b.Add((byte)'t'); Put(8); b.Add((byte)'Q');
        b.AddRange([(byte)'K', 0, (byte)'K', 3, 0x85]); Put(9); b.AddRange([(byte)'K', 1, 0x85]); Put(10); b.Add(0x89);
        b.AddRange([(byte)'h', 0, (byte)')', (byte)'R']); Put(11); b.Add((byte)'t'); Put(12); b.Add((byte)'R'); Put(13);
        U("n"); Put(14);
        b.AddRange([(byte)'h', 3, (byte)'(', (byte)'(']); U("storage"); S("ctorch\nLongStorage\n"); Put(15); U("1"); U("cpu");
        b.AddRange([(byte)'K', 1, (byte)'t', (byte)'Q', (byte)'K', 0, (byte)')', (byte)')', 0x89, (byte)'h', 0, (byte)')', (byte)'R', (byte)'t', (byte)'R']);
        b.Add((byte)'u');
        b.Add((byte)'}'); U("_metadata"); b.AddRange([(byte)'h', 0, (byte)')', (byte)'R', (byte)'s', (byte)'b', (byte)'.']);
        return b.ToArray();
    }

    private string WriteZip(string name, params (string Entry, byte[] Data)[] records)
    {
        string path = PathOf(name);
        using var zip = ZipFile.Open(path, ZipArchiveMode.Create);
        foreach (var (entry, data) in records)
        {
            using var s = zip.CreateEntry(entry, CompressionLevel.NoCompression).Open();
            s.Write(data);
        }
        return path;
    }

    private static byte[] Floats(params float[] v) => v.SelectMany(BitConverter.GetBytes).ToArray();

    [Test]
    public void ReadsThePickleTorchSaveWrites()
    {
        string path = WriteZip("torch.pth",
            ("archive/data.pkl", TorchStylePickle()),
            ("archive/data/0", Floats(1, 2, 3)),
            ("archive/data/1", BitConverter.GetBytes(5L)),
            ("archive/version", "3\n"u8.ToArray()));
        using var sd = TorchCheckpoint.Load(path);
        Assert.That(sd.Keys, Is.EqualTo(new[] { "a", "n" }));
        Assert.That(sd["a"].data<float>().ToArray(), Is.EqualTo(new[] { 1f, 2f, 3f }));
        Assert.That(sd["n"].dtype, Is.EqualTo(ScalarType.Int64));
        Assert.That(sd["n"].shape, Is.Empty);
        Assert.That(sd["n"].item<long>(), Is.EqualTo(5L));
    }

    [Test]
    public void PickleAskingForADisallowedGlobalIsRefusedWithoutRunningIt()
    {
        byte[] evil = [0x80, 0x02, .. "cos\nsystem\n"u8.ToArray(), (byte)'X', 4, 0, 0, 0, .. "true"u8.ToArray(), 0x85, (byte)'R', (byte)'.'];
        string path = WriteZip("evil.pth", ("archive/data.pkl", evil), ("archive/version", "3\n"u8.ToArray()));
        var ex = Assert.Throws<CheckpointFormatException>(() => TorchCheckpoint.Load(path));
        Assert.That(ex!.Message, Does.Contain("os.system").And.Contain(path));
        Assert.That(ex.InnerException, Is.InstanceOf<PickleSecurityException>());
    }

    [Test]
    public void TruncatedZipIsRefusedNamingTheFile()
    {
        using var sd = new StateDict();
        sd.Add("x", randn(100));
        string path = PathOf("cut.pth");
        TorchCheckpoint.Save(path, sd);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
        var ex = Assert.Throws<CheckpointFormatException>(() => TorchCheckpoint.Load(path));
        Assert.That(ex!.Message, Does.Contain(path));
    }

    [Test]
    public void FileThatIsNotAZipIsRefused()
    {
        string path = PathOf("text.pth");
        File.WriteAllText(path, "hello, not a checkpoint");
        var ex = Assert.Throws<CheckpointFormatException>(() => TorchCheckpoint.Load(path));
        Assert.That(ex!.Message, Does.Contain(path).And.Contain("not a PyTorch checkpoint"));
    }

    [Test]
    public void TruncatedPickleIsRefused()
    {
        var pkl = TorchStylePickle();
        string path = WriteZip("trunc.pth", ("archive/data.pkl", pkl[..(pkl.Length - 20)]), ("archive/data/0", Floats(1, 2, 3)),
            ("archive/data/1", BitConverter.GetBytes(5L)));
        var ex = Assert.Throws<CheckpointFormatException>(() => TorchCheckpoint.Load(path));
        Assert.That(ex!.Message, Does.Contain(path));
        Assert.That(ex.InnerException, Is.InstanceOf<PickleException>());
    }

    [Test]
    public void MissingStorageRecordIsRefused()
    {
        string path = WriteZip("nostorage.pth", ("archive/data.pkl", TorchStylePickle()), ("archive/data/0", Floats(1, 2, 3)));
        var ex = Assert.Throws<CheckpointFormatException>(() => TorchCheckpoint.Load(path));
        Assert.That(ex!.Message, Does.Contain("data/1"));
    }

    [Test]
    public void StorageOfTheWrongSizeIsRefused()
    {
        string path = WriteZip("short.pth", ("archive/data.pkl", TorchStylePickle()), ("archive/data/0", Floats(1, 2)),
            ("archive/data/1", BitConverter.GetBytes(5L)));
        Assert.Throws<CheckpointFormatException>(() => TorchCheckpoint.Load(path));
    }

    [Test]
    public void MissingFileIsNamed()
    {
        var ex = Assert.Throws<FileNotFoundException>(() => TorchCheckpoint.Load(PathOf("absent.pth")));
        Assert.That(ex!.Message, Does.Contain("absent.pth"));
    }

    [Test]
    public void ModelSaveLoadRoundTripGivesIdenticalOutputs()
    {
        manual_seed(3);
        using var model = EfficientNet.Create(EfficientNetConfig.Scaled(0.25, 0.34, 10));
        string path = PathOf("model.pth");
        ModelLoader.Save(model, path);
        using var back = EfficientNets.LoadCheckpoint(path);
        model.eval();
        back.eval();
        using var x = randn(2, 3, 32, 32);
        using var _ = no_grad();
        TensorAssert.AreIdentical(model.call(x), back.call(x), "outputs after save → load");
        Assert.That(StateDictOrder.Ordered(back).Select(k => k.Key), Is.EqualTo(StateDictOrder.Ordered(model).Select(k => k.Key)));
    }

    [Test]
    public void StrictLoadListsEveryMissingUnexpectedAndMisshapedKey()
    {
        using var model = EfficientNet.Create(EfficientNetConfig.Scaled(0.25, 0.34, 10));
        using var sd = StateDict.FromModule(model);
        using var bad = new StateDict();
        foreach (var (k, v) in sd.Items)
        {
            if (k == "features.0.0.weight") continue; // missing
            bad.Add(k, k == "classifier.1.bias" ? zeros(3) : v.clone()); // wrong shape
        }
        bad.Add("extra.weight", zeros(1)); // unexpected
        var ex = Assert.Throws<CheckpointMismatchException>(() => StateDictLoader.Load(model, bad, strict: true, "ckpt.pth"));
        Assert.That(ex!.Missing, Is.EqualTo(new[] { "features.0.0.weight" }));
        Assert.That(ex.Unexpected, Is.EqualTo(new[] { "extra.weight" }));
        Assert.That(ex.ShapeMismatches.Single(), Does.StartWith("classifier.1.bias"));
        Assert.That(ex.Message, Does.Contain("ckpt.pth").And.Contain("features.0.0.weight").And.Contain("extra.weight").And.Contain("classifier.1.bias"));
    }

    [Test]
    public void MaskedModelRoundTripsWithItsMasks()
    {
        using var model = EfficientNet.Create(EfficientNetConfig.Scaled(0.25, 0.34, 10));
        foreach (var (_, layer) in model.PrunableLayers())
            layer.ApplyMask((rand(layer.Weight.shape) > 0.5).to(float32));
        string path = PathOf("masked.pth");
        ModelLoader.Save(model, path);
        using var back = EfficientNets.LoadCheckpoint(path);
        Assert.That(back.PrunableLayers().All(l => l.Layer.IsMasked));
        model.eval(); back.eval();
        using var x = randn(2, 3, 32, 32);
        using var _ = no_grad();
        TensorAssert.AreIdentical(model.call(x), back.call(x));
    }
}
