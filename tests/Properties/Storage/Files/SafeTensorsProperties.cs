using FsCheck;
using FsCheck.Fluent;
using Harness.Storage.Checkpoints;
using Harness.Tests.TestSupport;
using static TorchSharp.torch;

namespace Harness.Tests.Properties.Storage.Files;

/// <summary>safetensors written by Harness read back bit for bit whatever the dtypes and shapes (empty and 0-d
/// tensors included), and a damaged file loads or is refused with a <see cref="CheckpointFormatException"/>, never
/// anything else.</summary>
public class SafeTensorsProperties : TempDirectoryTest
{
    private static readonly ScalarType[] Types =
        [ScalarType.Float32, ScalarType.Float64, ScalarType.Float16, ScalarType.BFloat16, ScalarType.Int64, ScalarType.Int32, ScalarType.Int16, ScalarType.Int8, ScalarType.Byte, ScalarType.Bool];

    private static Tensor Make(ScalarType type, long[] shape, int seed)
    {
        manual_seed(seed);
        var t = randn(shape, dtype: ScalarType.Float64) * 100;
        return type == ScalarType.Bool ? t.gt(0) : t.to(type);
    }

    private static readonly Gen<(int Type, long[] Shape)> TensorGen =
        from type in Gen.Choose(0, Types.Length - 1)
        from rank in Gen.Choose(0, 3)
        from dims in Gen.Choose(0, 4).ArrayOf(rank)
        select (type, dims.Select(d => (long)d).ToArray());

    [Test]
    public void AnyStateDictRoundTripsBitForBitWithItsMetadata()
    {
        int n = 0;
        Prop.ForAll(TensorGen.ListOf().Where(l => l.Count <= 5).ToArbitrary(), Gen.Elements<string?>(null, "{\"w\":1}", "é × ∞").ToArbitrary(), (specs, meta) =>
        {
            string path = Path.Combine(Dir, $"t{n++}.safetensors");
            using var sd = new StateDict();
            for (int i = 0; i < specs.Count; i++) sd.Add($"layer{i}.weight", Make(Types[specs[i].Type], specs[i].Shape, i));
            SafeTensors.Save(path, sd, meta);
            var (back, backMeta) = SafeTensors.LoadWithMetadata(path);
            using var _ = back;
            return backMeta == meta && back.Keys.SequenceEqual(sd.Keys)
                   && sd.Items.All(kv => back[kv.Key].dtype == kv.Value.dtype && TensorAssert.Identical(kv.Value, back[kv.Key]))
                   && CheckpointFile.Detect(path) == CheckpointFile.Format.SafeTensors;
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(60));
    }

    [Test]
    public void ADamagedFileLoadsOrIsRefusedWithAFormatError()
    {
        string path = Path.Combine(Dir, "seed.safetensors");
        using (var sd = new StateDict())
        {
            sd.Add("a", Make(ScalarType.Float32, [3, 2], 1));
            sd.Add("b", Make(ScalarType.Int64, [4], 2));
            sd.Add("c", Make(ScalarType.Float16, [], 3));
            SafeTensors.Save(path, sd, "{\"x\":1}");
        }
        byte[] seed = File.ReadAllBytes(path);
        int n = 0;
        Prop.ForAll(Gen.Choose(0, seed.Length - 1).ToArbitrary(), Gen.Choose(0, 255).ToArbitrary(), Gen.Choose(0, 2).ToArbitrary(), (at, value, kind) =>
        {
            byte[] bytes = (byte[])seed.Clone();
            if (kind == 0) bytes[at] = (byte)value;
            else if (kind == 1) bytes = bytes[..at];
            else bytes[at] ^= (byte)(1 << (value % 8));
            string damaged = Path.Combine(Dir, $"d{n++}.safetensors");
            File.WriteAllBytes(damaged, bytes);
            try
            {
                SafeTensors.Load(damaged).Dispose();
                return true;
            }
            catch (CheckpointFormatException ex)
            {
                return ex.Message.StartsWith(damaged, StringComparison.Ordinal);
            }
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(300));
    }
}
