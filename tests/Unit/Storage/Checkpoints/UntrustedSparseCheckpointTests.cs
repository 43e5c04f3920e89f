using Harness.Storage.Checkpoints;
using Harness.Tests.TestSupport;
using System.Buffers.Binary;
using System.Text;
using static TorchSharp.torch;

namespace Harness.Tests.Unit.Storage.Checkpoints;

/// <summary>A sparse checkpoint, however crafted, loads or is refused with a <see cref="CheckpointFormatException"/>
/// naming the file, before any buffer is sized from the header's numbers.</summary>
public class UntrustedSparseCheckpointTests : TempDirectoryTest
{
    private string WriteSparse(string name, string tensorsJson, byte[]? data = null, long? headerLength = null)
    {
        byte[] header = Encoding.UTF8.GetBytes($"{{\"version\":1,\"tensors\":{tensorsJson}}}");
        string path = Path.Combine(Dir, name);
        var bytes = new List<byte>(SparseCheckpoint.Magic.ToArray());
        var len = new byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(len, headerLength ?? header.Length);
        bytes.AddRange(len);
        bytes.AddRange(header);
        bytes.AddRange(data ?? []);
        File.WriteAllBytes(path, bytes.ToArray());
        return path;
    }

    private static string Tensor(string shape, string encoding, long nonzero, long length, string name = "w",
        string dtype = "\"float32\"", long offset = 0) =>
        $"{{\"name\":\"{name}\",\"dtype\":{dtype},\"shape\":{shape},\"encoding\":\"{encoding}\",\"nonzero\":{nonzero},\"offset\":{offset},\"length\":{length}}}";

    private void Refused(string path, string because)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        var ex = Assert.Throws<CheckpointFormatException>(() => SparseCheckpoint.Load(path).Dispose());
        Assert.That(ex!.Message, Does.Contain(path).And.Contain(because));
        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.LessThan(64L << 20), "no buffer was sized from the header");
    }

    [Test]
    public void HeaderLengthNearInt64MaxIsRefused() =>
        Refused(WriteSparse("len.hsp", "[]", headerLength: long.MaxValue - 4), "header");

    [Test]
    public void AllZeroTensorOfAHugeShapeIsRefusedWithoutAllocatingIt() =>
        Refused(WriteSparse("huge.hsp", $"[{Tensor("[1048576,1048576]", "indices32", 0, 0)}]"), "budget");

    [Test]
    public void DenseTensorWhoseShapeDisagreesWithItsBytesIsRefusedBeforeAllocating() =>
        Refused(WriteSparse("dense.hsp", $"[{Tensor("[1024,1024]", "dense", 0, 16)}]", new byte[16]), "corrupt");

    [TestCase("[-1,4]", TestName = "NegativeDimensionIsRefused")]
    [TestCase("[4294967296,4294967296]", TestName = "ShapeWhoseElementCountOverflowsIsRefused")]
    [TestCase("null", TestName = "MissingShapeIsRefused")]
    [TestCase("[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1]", TestName = "ShapeOfMoreThan32DimensionsIsRefused")]
    public void MalformedShapeIsRefused(string shape) =>
        Refused(WriteSparse("shape.hsp", $"[{Tensor(shape, "dense", 0, 16)}]", new byte[16]), "shape");

    [Test]
    public void NegativeNonzeroCountIsRefused() =>
        Refused(WriteSparse("nnz.hsp", $"[{Tensor("[4]", "indices32", -1, 0)}]"), "corrupt");

    [Test]
    public void IndicesOutOfOrderAreRefused()
    {
        var data = new byte[16];
        BinaryPrimitives.WriteUInt32LittleEndian(data, 3);
        BinaryPrimitives.WriteUInt32LittleEndian(data.AsSpan(4), 1);
        Refused(WriteSparse("order.hsp", $"[{Tensor("[4]", "indices32", 2, 16)}]", data), "corrupt");
    }

    [Test]
    public void DeflatedBitmaskSectionShorterThanItsLengthFieldIsRefused() =>
        Refused(WriteSparse("short.hsp", $"[{Tensor("[4]", "bitmask-deflate", 0, 4)}]", new byte[4]), "corrupt");

    [Test]
    public void DeflatedBitmaskLengthNearInt64MaxIsRefused()
    {
        var data = new byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(data, long.MaxValue - 2);
        Refused(WriteSparse("deflen.hsp", $"[{Tensor("[4]", "bitmask-deflate", 0, 8)}]", data), "corrupt");
    }

    [Test]
    public void SectionOffsetNearInt64MaxIsRefused() =>
        Refused(WriteSparse("offset.hsp", $"[{Tensor("[4]", "dense", 0, 16, offset: long.MaxValue - 8)}]", new byte[16]), "outside");

    [Test]
    public void TwoTensorsWithTheSameNameAreRefused() =>
        Refused(WriteSparse("dup.hsp", $"[{Tensor("[1]", "dense", 0, 4)},{Tensor("[1]", "dense", 0, 4)}]", new byte[4]), "twice");

    [TestCase("null", TestName = "NullDtypeIsRefused")]
    [TestCase("\"complex64\"", TestName = "UnknownDtypeIsRefused")]
    public void BadDtypeIsRefused(string dtype) =>
        Refused(WriteSparse("dtype.hsp", $"[{Tensor("[1]", "dense", 0, 4, dtype: dtype)}]", new byte[4]), "dtype");

    [Test]
    public void NullTensorListIsRefused() => Refused(WriteSparse("null.hsp", "null"), "header");

    [Test]
    public void NullEntryIsRefused() => Refused(WriteSparse("nullentry.hsp", "[null]"), "header");

    [Test]
    public void WrittenSparseCheckpointStillRoundTrips()
    {
        using var sd = new StateDict();
        sd.Add("a", tensor(new[] { 0f, 0f, 3f, 0f, 0f, 0f, 0f, 0f, 0f, 1f }));
        sd.Add("b", zeros(1000));
        sd.Add("c", randn(4, 4));
        string path = Path.Combine(Dir, "ok.hsp");
        SparseCheckpoint.Save(path, sd);
        using var back = SparseCheckpoint.Load(path);
        foreach (var (k, t) in sd.Items) TensorAssert.AreIdentical(t, back[k], k);
    }
}
