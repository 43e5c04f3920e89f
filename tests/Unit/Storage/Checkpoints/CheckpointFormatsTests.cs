using Harness.Cli.Commands;
using Harness.Model;
using Harness.Pruning.Channels;
using Harness.Storage.Checkpoints;
using Harness.Tests.TestSupport;
using System.Buffers.Binary;
using System.Text;
using System.Text.Json;

namespace Harness.Tests.Unit.Storage.Checkpoints;

/// <summary>Every format a checkpoint path may hold (PyTorch zip, Harness sparse, safetensors) is read wherever a
/// checkpoint path is taken, and the formats Harness writes are what their specifications say.</summary>
public class CheckpointFormatsTests : TempDirectoryTest
{
    /// <summary>A file built by hand from the safetensors specification, as Hugging Face's writer lays it out.</summary>
    private static byte[] SpecFile(string header, byte[] data)
    {
        byte[] h = Encoding.UTF8.GetBytes(header);
        var file = new byte[8 + h.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(file, (ulong)h.Length);
        h.CopyTo(file, 8);
        data.CopyTo(file, 8 + h.Length);
        return file;
    }

    private static byte[] Floats(params float[] v) => v.SelectMany(BitConverter.GetBytes).ToArray();

    [Test]
    public void AFileLaidOutAsTheSpecificationSaysIsRead()
    {
        string path = Path.Combine(Dir, "spec.safetensors");
        byte[] data = [.. Floats(1.5f, -2f, 0.25f), .. BitConverter.GetBytes(7L)];
        File.WriteAllBytes(path, SpecFile("{\"__metadata__\":{\"format\":\"pt\"},\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]},\"n\":{\"dtype\":\"I64\",\"shape\":[1,1],\"data_offsets\":[12,20]}}", data));
        var (sd, meta) = CheckpointFile.Load(path);
        using var _ = sd;
        Assert.That(meta, Is.Null, "no Harness metadata in a file from elsewhere");
        Assert.That(sd.Keys, Is.EqualTo(new[] { "w", "n" }));
        Assert.That(sd["w"].data<float>().ToArray(), Is.EqualTo(new[] { 1.5f, -2f, 0.25f }));
        Assert.That(sd["n"].shape, Is.EqualTo(new long[] { 1, 1 }));
        Assert.That(sd["n"].item<long>(), Is.EqualTo(7));
    }

    [TestCase("{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 12, "data_offsets")]
    [TestCase("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12, "gap")]
    [TestCase("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12, "overlap")]
    [TestCase("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 12, "cover 8 of the 12")]
    [TestCase("{\"w\":{\"dtype\":\"C64\",\"shape\":[1],\"data_offsets\":[0,8]}}", 8, "dtype 'C64'")]
    [TestCase("{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4, "shape")]
    [TestCase("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, "twice")]
    [TestCase("{\"w\":{\"dtype\":\"F32\"", 4, "JSON")]
    public void ABadFileIsRefusedNamingItAndTheFault(string header, int dataBytes, string fault)
    {
        string path = Path.Combine(Dir, "bad.safetensors");
        File.WriteAllBytes(path, SpecFile(header, new byte[dataBytes]));
        var ex = Assert.Throws<CheckpointFormatException>(() => SafeTensors.Load(path).Dispose());
        Assert.That(ex!.Message, Does.StartWith(path).And.Contain(fault));
    }

    [Test]
    public void AHeaderLengthBeyondTheFileIsRefused()
    {
        string path = Path.Combine(Dir, "short.safetensors");
        var bytes = new byte[16];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, 1000);
        bytes[8] = (byte)'{';
        File.WriteAllBytes(path, bytes);
        Assert.That(() => SafeTensors.Load(path), Throws.TypeOf<CheckpointFormatException>().With.Message.Contains("header length 1000"));
    }

    [Test]
    public void WhatHarnessWritesFollowsTheSpecification()
    {
        string path = Path.Combine(Dir, "r18.safetensors");
        using var model = ModelLoader.LoadNetwork("none", "resnet18");
        ModelLoader.Save(model, path);
        byte[] file = File.ReadAllBytes(path);
        long n = (long)BinaryPrimitives.ReadUInt64LittleEndian(file);
        Assert.That(n % 8, Is.Zero, "the header is padded so the data starts 8-byte aligned");
        using var header = JsonDocument.Parse(file.AsMemory(8, (int)n));
        var tensors = header.RootElement.EnumerateObject().Where(p => p.Name != "__metadata__").ToList();
        using (var sd = StateDict.FromModule(model.Module))
            Assert.That(tensors.Select(t => t.Name), Is.EqualTo(sd.Keys), "every tensor, in PyTorch's state-dict order");
        long end = 0;
        foreach (var t in tensors)
        {
            var off = t.Value.GetProperty("data_offsets");
            Assert.That(off[0].GetInt64(), Is.EqualTo(end), t.Name);
            end = off[1].GetInt64();
        }
        Assert.That(end, Is.EqualTo(file.Length - 8 - n), "the offsets tile the data buffer");
        Assert.That(header.RootElement.GetProperty("conv1.weight").GetProperty("dtype").GetString(), Is.EqualTo("F32"));
        Assert.That(header.RootElement.GetProperty("bn1.num_batches_tracked").GetProperty("dtype").GetString(), Is.EqualTo("I64"));
        Assert.That(header.RootElement.GetProperty("__metadata__").GetProperty(SafeTensors.MetadataKey).GetString(), Is.EqualTo(model.MetadataJson()));
    }

    [TestCase("model.safetensors")]
    [TestCase("model.hsp")]
    [TestCase("model.pth")]
    public void EveryFormatReadsBackTheSameNetworkWidthsAndTensors(string file)
    {
        // A channel-pruned B0: its residual flags are only in the metadata record, which every format carries.
        using var b0 = ModelLoader.LoadNetwork("none", "efficientnet_b0");
        using var pruned = ChannelPruner.Prune(b0, new ChannelPruningOptions { Ratio = 0.8 }).Model;
        string path = Path.Combine(Dir, file);
        ModelLoader.Save(pruned, path);
        Assert.That(CheckpointFile.Detect(path), Is.EqualTo(CheckpointFile.ForExtension(path)));
        string renamed = Path.Combine(Dir, "renamed.bin");
        File.Copy(path, renamed);
        using var back = ModelLoader.LoadNetwork(renamed);
        Assert.That(back.MetadataJson(), Is.EqualTo(pruned.MetadataJson()), "recognised by content, not name");
        var expected = pruned.Module.state_dict();
        foreach (var (k, v) in back.Module.state_dict()) TensorAssert.AreIdentical(expected[k], v, k);
    }

    [Test]
    public void TheCommandsReadTheSparseAndSafetensorsFilesTheyWrite()
    {
        string dense = Path.Combine(Dir, "fg.pth");
        var (code, _, error) = HarnessCli.Run(PruneCommand.Create(), "prune", "fine-grained", "--arch", "resnet18", "--ratio", "0.9", "--out", dense, "--sparse");
        Assert.That((code, error.Trim()), Is.EqualTo((2, "error: --sparse needs --permanent: a masked checkpoint keeps weight_orig and weight_mask, so its sparse file would be larger than the dense one")));
        Assert.That(File.Exists(dense), Is.False);
        (code, _, error) = HarnessCli.Run(PruneCommand.Create(), "prune", "fine-grained", "--arch", "resnet18", "--ratio", "0.9", "--out", dense, "--sparse", "--permanent");
        Assert.That(code, Is.EqualTo(0), error);
        string sparse = Path.ChangeExtension(dense, ".hsp");
        Assert.That(new FileInfo(sparse).Length, Is.LessThan(new FileInfo(dense).Length / 3), "90% zeros: the sparse file pays off");
        var summary = HarnessCli.Run(SummaryCommand.Create(), "summary", "--weights", sparse, "--json");
        Assert.That(summary.Code, Is.EqualTo(0), summary.Err);
        Assert.That(JsonDocument.Parse(summary.Out).RootElement.GetProperty("architecture").GetString(), Is.EqualTo("resnet"));

        string st = Path.Combine(Dir, "ch.safetensors");
        (code, _, error) = HarnessCli.Run(PruneCommand.Create(), "prune", "channel", "--weights", sparse, "--ratio", "0.5", "--out", st);
        Assert.That(code, Is.EqualTo(0), error);
        Assert.That(CheckpointFile.Detect(st), Is.EqualTo(CheckpointFile.Format.SafeTensors));
        var metrics = HarnessCli.Run(MetricsCommand.Create(), "metrics", "--weights", st, "--image-size", "32", "--runs", "1", "--out", Path.Combine(Dir, "m"), "--json");
        Assert.That(metrics.Code, Is.EqualTo(0), metrics.Err);
    }
}
