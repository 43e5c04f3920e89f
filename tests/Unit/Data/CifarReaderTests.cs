using Harness.Data;
using Harness.Data.Cifar;
using Harness.Storage.Pickle;
using Harness.Tests.TestSupport;

namespace Harness.Tests.Unit.Data;

public class CifarReaderTests : TempDirectoryTest
{
    [Test]
    public void BothOfficialLayoutsOfTheSharedSampleDecodeToTheSameImagesAndLabels()
    {
        string root = SharedData.RequireShared("cifar10-sample");
        var bin = DatasetLocator.Open(Path.Combine(root, "cifar-10-batches-bin"));
        var py = DatasetLocator.Open(Path.Combine(root, "cifar-10-batches-py"));
        Assert.That(bin.Layout, Is.EqualTo(DataLayout.CifarBinary));
        Assert.That(py.Layout, Is.EqualTo(DataLayout.CifarPython));
        Assert.That(bin.Train.Count, Is.EqualTo(5085));
        Assert.That(bin.Test.Count, Is.EqualTo(1017));
        Assert.That(py.Train.Pixels, Is.EqualTo(bin.Train.Pixels));
        Assert.That(py.Train.Labels, Is.EqualTo(bin.Train.Labels));
        Assert.That(py.Test.Pixels, Is.EqualTo(bin.Test.Pixels));
        Assert.That(py.Test.Labels, Is.EqualTo(bin.Test.Labels));
        Assert.That(bin.Description, Does.Contain("binary"));
        Assert.That(DatasetLocator.Open(root).Train.Count, Is.EqualTo(5085), "the parent folder is found too");
    }

    private string Write(string name, byte[] bytes)
    {
        string p = Path.Combine(Dir, name);
        File.WriteAllBytes(p, bytes);
        return p;
    }

    [Test]
    public void BinaryFileThatIsNotWholeRecordsIsRefusedNamingIt()
    {
        string p = Write("data_batch_1.bin", new byte[3073 * 2 + 5]);
        var ex = Assert.Throws<InvalidDataException>(() => CifarBinaryBatchReader.Read(p));
        Assert.That(ex!.Message, Does.Contain(p).And.Contain("3073"));
    }

    [Test]
    public void BinaryLabelOutsideZeroToNineIsRefused()
    {
        var bytes = new byte[3073 * 2];
        bytes[3073] = 10;
        string p = Write("b.bin", bytes);
        var ex = Assert.Throws<InvalidDataException>(() => CifarBinaryBatchReader.Read(p));
        Assert.That(ex!.Message, Does.Contain("record 1").And.Contain("10"));
    }

    [Test]
    public void MissingBatchFileIsNamed()
    {
        Directory.CreateDirectory(Path.Combine(Dir, "cifar-10-batches-bin"));
        File.WriteAllBytes(Path.Combine(Dir, "cifar-10-batches-bin", "data_batch_1.bin"), new byte[3073]);
        var ex = Assert.Throws<FileNotFoundException>(() => DatasetLocator.Open(Dir));
        Assert.That(ex!.Message, Does.Contain("data_batch_2.bin"));
    }

    private static byte[] PythonBatch(int n, long[] labels, int dataBytes, string dtype = "u1", bool withData = true)
    {
        var b = new List<byte> { 0x80, 0x02, (byte)'}', (byte)'(' };
        void S(string s) => b.AddRange(System.Text.Encoding.ASCII.GetBytes(s));
        void Str(string s) { b.Add((byte)'U'); b.Add((byte)s.Length); S(s); }
        Str("labels"); b.Add((byte)']'); b.Add((byte)'(');
        foreach (var l in labels) { b.Add((byte)'J'); b.AddRange(BitConverter.GetBytes((int)l)); }
        b.Add((byte)'e');
        if (withData)
        {
            Str("data");
            S("cnumpy.core.multiarray\n_reconstruct\n"); S("cnumpy\nndarray\n"); b.AddRange([(byte)'K', 0, 0x85]); Str("b"); b.AddRange([0x87, (byte)'R']);
            b.Add((byte)'('); b.AddRange([(byte)'K', 1]); b.AddRange([(byte)'M', (byte)(n & 0xFF), (byte)(n >> 8)]);
            b.AddRange([(byte)'M', 0x00, 0x0C, 0x86]);
            S("cnumpy\ndtype\n"); Str(dtype); b.AddRange([0x89, 0x88, 0x87, (byte)'R']);
            b.Add((byte)'('); b.AddRange([(byte)'K', 3]); Str("|"); b.AddRange([(byte)'N', (byte)'N', (byte)'N', (byte)'J']); b.AddRange(BitConverter.GetBytes(-1)); b.Add((byte)'J'); b.AddRange(BitConverter.GetBytes(-1)); b.AddRange([(byte)'K', 0, (byte)'t', (byte)'b']);
            b.Add(0x89);
            b.Add((byte)'T'); b.AddRange(BitConverter.GetBytes(dataBytes)); b.AddRange(new byte[dataBytes]);
            b.AddRange([(byte)'t', (byte)'b']);
        }
        b.AddRange([(byte)'u', (byte)'.']);
        return b.ToArray();
    }

    [Test]
    public void CraftedPythonBatchReads()
    {
        var batch = CifarPythonBatchReader.Read(Write("ok", PythonBatch(2, [3, 9], 2 * 3072)));
        Assert.That(batch.Count, Is.EqualTo(2));
        Assert.That(batch.Labels, Is.EqualTo(new byte[] { 3, 9 }));
    }

    [Test]
    public void PythonBatchErrorsNameTheFile()
    {
        var cases = new (string Name, byte[] Bytes, Type Error, string Text)[]
        {
            ("truncated", PythonBatch(2, [1, 2], 2 * 3072)[..200], typeof(PickleException), "truncated"),
            ("badlabel", PythonBatch(2, [1, 12], 2 * 3072), typeof(InvalidDataException), "outside 0–9"),
            ("count", PythonBatch(2, [1], 2 * 3072), typeof(InvalidDataException), "1 labels for 2 images"),
            ("nodata", PythonBatch(2, [1, 2], 0, withData: false), typeof(InvalidDataException), "not a CIFAR batch"),
            ("dtype", PythonBatch(2, [1, 2], 2 * 3072, dtype: "f4"), typeof(InvalidDataException), "uint8"),
            ("short", PythonBatch(2, [1, 2], 3072), typeof(InvalidDataException), "expected 2"),
        };
        foreach (var (name, bytes, error, text) in cases)
        {
            string p = Write(name, bytes);
            var ex = Assert.Throws(Is.InstanceOf(error), () => CifarPythonBatchReader.Read(p), name);
            Assert.That(ex!.Message, Does.Contain(p).And.Contain(text), name);
        }
    }

    [Test]
    public void PickleWithForeignGlobalIsRefused()
    {
        string p = Write("evil", [0x80, 0x02, .. "cposix\nsystem\n"u8.ToArray(), (byte)'.']);
        var ex = Assert.Throws<PickleSecurityException>(() => CifarPythonBatchReader.Read(p));
        Assert.That(ex!.Message, Does.Contain("posix.system"));
    }
}
