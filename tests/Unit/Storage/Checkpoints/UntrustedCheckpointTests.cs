using Harness.Storage.Checkpoints;
using Harness.Storage.Pickle;
using Harness.Tests.TestSupport;
using System.IO.Compression;
using static Harness.Tests.TestSupport.CraftedCheckpoint;

namespace Harness.Tests.Unit.Storage.Checkpoints;

/// <summary>
/// Whatever bytes a checkpoint holds, reading it ends in a tensor dict or in a <see cref="CheckpointFormatException"/>
/// that names the file and what is wrong: never another exception, never an allocation far beyond what the file holds.
/// </summary>
public class UntrustedCheckpointTests : TempDirectoryTest
{
    private string PathOf(string name) => Path.Combine(Dir, name);

    private CheckpointFormatException Refused(string path, string because)
    {
        var ex = Assert.Throws<CheckpointFormatException>(() => TorchCheckpoint.Load(path).Dispose());
        Assert.That(ex!.Message, Does.Contain(path).And.Contain(because).IgnoreCase);
        return ex;
    }

    private string OneTensor(string name, TensorRecord tensor, byte[] storage)
    {
        string path = PathOf(name);
        Write(path, Pickle(tensor), (tensor.Key, storage));
        return path;
    }

    // --- views -----------------------------------------------------------------------------------------------

    private static readonly (string Type, int Bytes)[] StorageTypes =
    [
        ("FloatStorage", 4), ("DoubleStorage", 8), ("HalfStorage", 2), ("BFloat16Storage", 2), ("LongStorage", 8),
        ("IntStorage", 4), ("ShortStorage", 2), ("CharStorage", 1), ("ByteStorage", 1), ("BoolStorage", 1),
    ];

    /// <summary>Views of a one-element storage at the Int32/Int64 edges of element count, byte size and offset, for
    /// every storage type: each is refused with a <see cref="CheckpointFormatException"/> (one <c>error:</c> line,
    /// exit 2), never an <see cref="OverflowException"/> (once exit 70: a stride-0 view of 2^62 floats has a count
    /// that fits and a byte size that does not).</summary>
    [Test]
    public void ViewsAtTheIntegerEdgesAreRefusedForEveryStorageType()
    {
        foreach (var (type, bytes) in StorageTypes)
        {
            var cases = new List<(long Offset, long[] Size, long[] Stride)>
            {
                (0, [long.MaxValue / bytes + 1], [0]),          // count fits, count × element size does not
                (0, [long.MaxValue], [0]),
                (0, [1L << 62], [0]),
                (0, [(long)int.MaxValue + 1], [0]),             // past Int32: refused by the budget
                (0, [1L << 31, 1L << 31, 2], [0, 0, 0]),        // the count itself overflows
                (0, [3037000500, 3037000500], [0, 0]),          // √2^63 rounded up
                (long.MaxValue, [1], [1]),                      // offset + extent overflows
                (long.MaxValue - 1, [1], [0]),
                (1, [1], [1]),                                  // one past the storage's only element
                (0, [2, 1L << 62], [1L << 62, 0]),
            };
            foreach (var (offset, size, stride) in cases)
            {
                string what = $"{type} offset {offset} sizes [{string.Join(", ", size)}] strides [{string.Join(", ", stride)}]";
                string path = OneTensor("edge.pth", new TensorRecord("w", type, "0", 1, offset, size, stride), new byte[bytes]);
                Assert.That(() => TorchCheckpoint.Load(path).Dispose(), Throws.TypeOf<CheckpointFormatException>().With.Message.Contain(path), what);
            }
        }
        string cli = OneTensor("edge-cli.pth", new TensorRecord("w", "FloatStorage", "0", 1, 0, [1L << 62], [0]), new byte[4]);
        var (code, _, error) = HarnessCli.Run("summary", "--weights", cli);
        Assert.That(code, Is.EqualTo(2), error);
        Assert.That(error.Trim().Split('\n'), Has.Length.EqualTo(1));
        Assert.That(error, Does.StartWith("error: ").And.Contain("edge-cli.pth"));
    }

    [Test]
    public void StrideZeroViewOfOneFloatIsRefusedInsteadOfMaterialisingGigabytes()
    {
        string path = OneTensor("broadcast.pth",
            new TensorRecord("w", "FloatStorage", "0", 1, 0, [1 << 15, 1 << 15], [0, 0]), Floats(1));
        Assert.That(new FileInfo(path).Length, Is.LessThan(1000));
        long before = Environment.WorkingSet;
        Refused(path, "budget");
        Assert.That(Environment.WorkingSet - before, Is.LessThan(256L << 20), "nothing near 4 GB was allocated");
    }

    [Test]
    public void SmallBroadcastViewIsMaterialised()
    {
        string path = OneTensor("small-broadcast.pth",
            new TensorRecord("w", "FloatStorage", "0", 1, 0, [1000, 10], [0, 0]), Floats(3));
        using var sd = TorchCheckpoint.Load(path);
        Assert.That(sd["w"].shape, Is.EqualTo(new long[] { 1000, 10 }));
        Assert.That(sd["w"].sum().item<float>(), Is.EqualTo(30000f));
    }

    [Test]
    public void ManyBroadcastViewsOfOneStorageAreRefusedOnceTheirTotalExceedsTheBudget()
    {
        var views = Enumerable.Range(0, 64)
            .Select(i => new TensorRecord($"w{i}", "FloatStorage", "0", 1, 0, [1 << 20], [0])).ToArray();
        string path = PathOf("many.pth");
        Write(path, Pickle(views), ("0", Floats(1)));
        Refused(path, "budget");
    }

    [Test]
    public void ViewReachingPastTheEndOfItsStorageIsRefused() =>
        Refused(OneTensor("past-end.pth", new TensorRecord("w", "FloatStorage", "0", 4, 0, [3], [2]), Floats(1, 2, 3, 4)),
            "outside its storage");

    [TestCase(new long[] { -1 }, new long[] { 1 }, 0L, "size", TestName = "NegativeSizeIsRefused")]
    [TestCase(new long[] { 2 }, new long[] { -1 }, 1L, "stride", TestName = "NegativeStrideIsRefused")]
    [TestCase(new long[] { 2, 2 }, new long[] { 1 }, 0L, "stride", TestName = "SizeAndStrideOfDifferentLengthAreRefused")]
    [TestCase(new long[] { 1L << 62, 4 }, new long[] { 4, 1 }, 0L, "overflow", TestName = "SizeTimesStrideOverflowIsRefused")]
    [TestCase(new long[] { 1L << 32, 1L << 32 }, new long[] { 0, 0 }, 0L, "overflow", TestName = "ElementCountOverflowIsRefused")]
    [TestCase(new long[] { 4, 0, 1L << 32, 1L << 32 }, new long[] { 0, 0, 0, 0 }, 0L, "overflow", TestName = "EmptyViewWhoseOtherSizesOverflowIsRefused")]
    [TestCase(new long[] { 2 }, new long[] { 1 }, -1L, "offset", TestName = "NegativeStorageOffsetIsRefused")]
    [TestCase(new long[] { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 },
        new long[] { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 }, 0L,
        "dimensions", TestName = "MoreThan32DimensionsAreRefused")]
    public void MalformedViewIsRefused(long[] size, long[] stride, long offset, string because) =>
        Refused(OneTensor("view.pth", new TensorRecord("w", "FloatStorage", "0", 4, offset, size, stride), Floats(1, 2, 3, 4)),
            because);

    [TestCase(5L, TestName = "StorageNumelLargerThanItsRecordIsRefused")]
    [TestCase(-1L, TestName = "NegativeStorageNumelIsRefused")]
    [TestCase(1L << 62, TestName = "StorageNumelWhoseByteCountOverflowsIsRefused")]
    public void StorageNumelThatDisagreesWithItsRecordIsRefused(long numel) =>
        Refused(OneTensor("numel.pth", new TensorRecord("w", "FloatStorage", "0", numel, 0, [2], [1]), Floats(1, 2, 3, 4)),
            "storage");

    [Test]
    public void OneStorageKeyDeclaredWithTwoTypesIsRefused()
    {
        string path = PathOf("two-types.pth");
        Write(path, Pickle(new TensorRecord("a", "FloatStorage", "0", 2, 0, [2], [1]),
            new TensorRecord("b", "LongStorage", "0", 1, 0, [1], [1])), ("0", Floats(1, 2)));
        Refused(path, "storage 'data/0'");
    }

    // --- zip -------------------------------------------------------------------------------------------------

    private string SmallCheckpoint(string name, CompressionLevel level = CompressionLevel.NoCompression)
    {
        string path = PathOf(name);
        WriteZip(path, [("archive/data.pkl", Pickle(TensorRecord.Floats("w", "0", 4))), ("archive/data/0", Floats(1, 2, 3, 4)),
            ("archive/version", "3\n"u8.ToArray())], level);
        return path;
    }

    [Test]
    public void ZipHeaderDeclaringA2GBDataPklIsRefusedBeforeAnyBufferIsSized()
    {
        string path = SmallCheckpoint("huge-pkl.pth");
        byte[] bytes = File.ReadAllBytes(path);
        SetDeclaredSizes(bytes, "archive/data.pkl", 0x7FFFFFF0, 0x7FFFFFF0);
        File.WriteAllBytes(path, bytes);
        long before = GC.GetAllocatedBytesForCurrentThread();
        Refused(path, "data.pkl");
        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.LessThan(16L << 20));
    }

    [Test]
    public void ZipRecordDeclaringFarMoreBytesThanItsCompressedSizeIsRefused()
    {
        string path = SmallCheckpoint("bomb.pth", CompressionLevel.Optimal);
        byte[] bytes = File.ReadAllBytes(path);
        using (var zip = ZipFile.OpenRead(path))
        {
            var pkl = zip.GetEntry("archive/data.pkl")!;
            SetDeclaredSizes(bytes, pkl.FullName, (uint)pkl.CompressedLength, (uint)pkl.CompressedLength * 5000);
        }
        File.WriteAllBytes(path, bytes);
        Refused(path, "compression");
    }

    [Test]
    public void DeflatedCheckpointWithinTheRatioCapIsRead()
    {
        using var sd = TorchCheckpoint.Load(SmallCheckpoint("deflated.pth", CompressionLevel.Optimal));
        Assert.That(sd["w"].data<float>().ToArray(), Is.EqualTo(new[] { 1f, 2f, 3f, 4f }));
    }

    [Test]
    public void RecordWhoseBytesDoNotMatchItsCrcIsRefused()
    {
        string path = SmallCheckpoint("crc.pth");
        byte[] bytes = File.ReadAllBytes(path);
        int at = bytes.AsSpan().IndexOf(Floats(1, 2, 3, 4));
        bytes[at + 1] ^= 0x40;
        File.WriteAllBytes(path, bytes);
        Refused(path, "CRC");
    }

    // --- pickle ----------------------------------------------------------------------------------------------

    private string PickleOnly(string name, byte[] pickle)
    {
        string path = PathOf(name);
        Write(path, pickle);
        return path;
    }

    private static byte[] WithLength32(byte op, uint length) =>
        [0x80, 2, op, .. BitConverter.GetBytes(length), .. "abc"u8.ToArray(), (byte)'.'];

    private static byte[] WithLength64(byte op, long length) =>
        [0x80, 2, op, .. BitConverter.GetBytes(length), .. "abc"u8.ToArray(), (byte)'.'];

    [TestCase((byte)'X', 0x80000000u, TestName = "BinunicodeLengthOf2To31IsRefused")]
    [TestCase((byte)'B', 0x80000000u, TestName = "BinbytesLengthOf2To31IsRefused")]
    [TestCase((byte)0x8b, 0x80000000u, TestName = "Long4LengthOf2To31IsRefused")]
    [TestCase((byte)'X', 1000u, TestName = "BinunicodeLengthBeyondTheRemainingBytesIsRefused")]
    [TestCase((byte)'B', 0xFFFFFFFFu, TestName = "BinbytesLengthOf2To32MinusOneIsRefused")]
    [TestCase((byte)0x8b, 5u, TestName = "Long4LengthBeyondTheRemainingBytesIsRefused")]
    public void PickleLengthFieldOutOfBoundsIsRefused(byte op, uint length)
    {
        var ex = Refused(PickleOnly("len.pth", WithLength32(op, length)), "pickle");
        Assert.That(ex.InnerException, Is.InstanceOf<PickleException>());
    }

    [TestCase((byte)0x8d, 1L << 62, TestName = "Binunicode8LengthOf2To62IsRefused")]
    [TestCase((byte)0x8e, -1L, TestName = "Binbytes8NegativeLengthIsRefused")]
    [TestCase((byte)0x96, long.MaxValue, TestName = "Bytearray8LengthOfLongMaxIsRefused")]
    public void PickleLength64FieldOutOfBoundsIsRefused(byte op, long length) =>
        Refused(PickleOnly("len8.pth", WithLength64(op, length)), "pickle");

    [Test]
    public void Long4OfMoreThanTheIntegerCapIsRefused()
    {
        byte[] pickle = [0x80, 2, 0x8b, .. BitConverter.GetBytes(1 << 16), .. new byte[1 << 16], (byte)'.'];
        Refused(PickleOnly("bigint.pth", pickle), "integer");
    }

    [TestCase("Iabc\n", TestName = "ProtocolZeroIntThatIsNotANumberIsRefused")]
    [TestCase("Fnot-a-float\n", TestName = "ProtocolZeroFloatThatIsNotANumberIsRefused")]
    [TestCase("p-x\n", TestName = "ProtocolZeroPutWithABadKeyIsRefused")]
    public void ProtocolZeroLineThatDoesNotParseIsRefused(string ops) =>
        Refused(PickleOnly("line.pth", [0x80, 2, .. System.Text.Encoding.ASCII.GetBytes(ops), (byte)'.']), "pickle");

    [Test]
    public void ProtocolZeroIntOfMoreDigitsThanTheIntegerCapIsRefused() =>
        Refused(PickleOnly("digits.pth", [0x80, 2, (byte)'I', .. Enumerable.Repeat((byte)'9', 5000), (byte)'\n', (byte)'.']),
            "integer");

    [Test]
    public void LongIntegersFittingInt64AreReadAsInt64()
    {
        // LONG1 with 8 bytes is how torch.save (and Harness) write sizes beyond 2^31; they must come back as int64.
        string path = OneTensor("long.pth", new TensorRecord("w", "FloatStorage", "0", 4, 0, [1L << 33, 0], [1, 1]), Floats(1, 2, 3, 4));
        using var sd = TorchCheckpoint.Load(path);
        Assert.That(sd["w"].shape, Is.EqualTo(new[] { 1L << 33, 0 }));
    }

    [Test]
    public void PickleStackDeeperThanTheCapIsRefused()
    {
        byte[] pickle = [0x80, 2, .. Enumerable.Repeat((byte)'N', RestrictedUnpickler.MaxStackDepth + 1), (byte)'.'];
        Refused(PickleOnly("stack.pth", pickle), "stack");
    }

    [Test]
    public void PickleMarksNestedDeeperThanTheCapAreRefused()
    {
        byte[] pickle = [0x80, 2, .. Enumerable.Repeat((byte)'(', RestrictedUnpickler.MaxMarkDepth + 1), (byte)'.'];
        Refused(PickleOnly("marks.pth", pickle), "MARK");
    }

    [Test]
    public void PickleMemoLargerThanTheCapIsRefused()
    {
        var ops = new List<byte> { 0x80, 2, (byte)'N' };
        for (uint i = 0; i <= RestrictedUnpickler.MaxMemoEntries; i++)
        {
            ops.Add((byte)'r');
            ops.AddRange(BitConverter.GetBytes(i));
        }
        ops.Add((byte)'.');
        Refused(PickleOnly("memo.pth", ops.ToArray()), "memo");
    }

    [Test]
    public void PickleWithMoreOpcodesThanTheCapIsRefused()
    {
        // DUP then POP keeps the stack small; only the opcode count grows.
        var ops = new List<byte> { 0x80, 2, (byte)'N' };
        for (int i = 0; i < RestrictedUnpickler.MaxOpcodes / 2 + 1; i++) ops.AddRange("20"u8.ToArray());
        ops.Add((byte)'.');
        Refused(PickleOnly("ops.pth", ops.ToArray()), "opcodes");
    }

    [Test]
    public void DisallowedGlobalIsAFormatErrorThatNamesTheGlobal()
    {
        byte[] evil = [0x80, 0x02, .. "cos\nsystem\n"u8.ToArray(), (byte)'X', 4, 0, 0, 0, .. "true"u8.ToArray(), 0x85, (byte)'R', (byte)'.'];
        var ex = Refused(PickleOnly("evil.pth", evil), "os.system");
        Assert.That(ex.InnerException, Is.InstanceOf<PickleSecurityException>());
    }

    [Test]
    public void SameTensorUnderTwoNamesGivesTwoIndependentTensors()
    {
        // 'b' reuses the tensor object built for 'a' (BINPUT after its REDUCE, BINGET later), as a tied weight would.
        byte[] one = Pickle(TensorRecord.Floats("a", "0", 2));
        int setItems = Array.LastIndexOf(one, (byte)'u');
        byte[] b = [(byte)'X', 1, 0, 0, 0, (byte)'b'];
        byte[] tied = [.. one[..setItems], (byte)'q', 9, .. b, (byte)'h', 9, .. one[setItems..]];
        string path = PathOf("tied.pth");
        Write(path, tied, ("0", Floats(1, 2)));
        using var sd = TorchCheckpoint.Load(path);
        Assert.That(sd.Keys, Is.EqualTo(new[] { "a", "b" }));
        Assert.That(ReferenceEquals(sd["a"], sd["b"]), Is.False, "each key owns its tensor");
        sd["a"].add_(1);
        Assert.That(sd["b"].data<float>().ToArray(), Is.EqualTo(new[] { 1f, 2f }));
    }

    // --- metadata --------------------------------------------------------------------------------------------

    [Test]
    public void MetadataRecordLargerThanTheCapIsRefused()
    {
        string path = PathOf("meta.pth");
        WriteZip(path, [("archive/data.pkl", Pickle(TensorRecord.Floats("w", "0", 1))), ("archive/data/0", Floats(1)),
            ($"archive/{TorchCheckpoint.MetadataRecord}", new byte[CheckpointLimits.MaxMetadataBytes + 1])]);
        var ex = Assert.Throws<CheckpointFormatException>(() => TorchCheckpoint.ReadMetadata(path));
        Assert.That(ex!.Message, Does.Contain(path).And.Contain("harness.json"));
    }

    [Test]
    public void WellFormedStridedViewIsStillRead()
    {
        // A transposed 2×2 view: offset 0, sizes [2, 2], strides [1, 2].
        string path = OneTensor("ok.pth", new TensorRecord("w", "FloatStorage", "0", 4, 0, [2, 2], [1, 2]), Floats(1, 2, 3, 4));
        using var sd = TorchCheckpoint.Load(path);
        Assert.That(sd["w"].contiguous().data<float>().ToArray(), Is.EqualTo(new[] { 1f, 3f, 2f, 4f }));
    }
}
