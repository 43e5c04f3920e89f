using FsCheck;
using FsCheck.Fluent;
using Harness.Model;
using Harness.Model.Families;
using Harness.Storage.Checkpoints;
using Harness.Tests.TestSupport;
using System.Buffers.Binary;
using System.Diagnostics;
using System.IO.Compression;
using System.Text;
using System.Text.Json.Nodes;
using static TorchSharp.torch;

namespace Harness.Tests.Properties.Storage.Checkpoints;

/// <summary>
/// Checkpoint reading under arbitrary damage: real tiny checkpoints Harness writes (dense, masked, channel-pruned, with
/// and without widths metadata, stored and deflated) are mutated — bit flips, truncations, zip header fields, pickle
/// opcodes, integers (sizes, strides, offsets, numels) and length fields, storage records, widths JSON — and loaded the
/// way users do (<see cref="TorchCheckpoint.Load"/>, then <see cref="ModelLoader.LoadNetwork(string)"/> and a forward pass).
/// Every case ends in success, a <see cref="CheckpointFormatException"/> or a <see cref="CheckpointMismatchException"/>,
/// within bounded memory. <c>HARNESS_FUZZ_CASES</c> sets the number of cases (default 500); the explicit
/// <c>Benchmark</c> test runs at least 10,000.
/// </summary>
public class CheckpointFuzzProperties : TempDirectoryTest
{
    private const int DefaultCases = 500;
    private const long PeakWorkingSetBound = 1536L << 20;
    private const long ManagedBytesPerCaseBound = 256L << 20;

    [Test]
    public void DamagedCheckpointLoadsOrIsRefusedWithAFormatOrMismatchError() =>
        Fuzz(CasesFromEnvironment(DefaultCases));

    [Test, Explicit("benchmark: at least 10,000 cases (HARNESS_FUZZ_CASES raises the count)"), Category("Benchmark")]
    public void DamagedCheckpointBenchmark() => Fuzz(Math.Max(10_000, CasesFromEnvironment(10_000)));

    private static int CasesFromEnvironment(int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable("HARNESS_FUZZ_CASES"), out int n) && n > 0 ? n : fallback;

    // --- seeds -----------------------------------------------------------------------------------------------

    /// <summary>A seed checkpoint as its zip records, and whether its records are deflated.</summary>
    private sealed record Seed(string Name, List<(string Entry, byte[] Data)> Records, bool Deflated);

    private List<Seed> MakeSeeds()
    {
        manual_seed(11);
        var config = EfficientNetConfig.Scaled(0.1, 0.1, 3);
        var seeds = new List<Seed>();
        void Add(string name, Action<string> save, bool deflate = false)
        {
            string path = Path.Combine(Dir, $"seed-{name}.pth");
            save(path);
            seeds.Add(new Seed(name, CraftedCheckpoint.Records(File.ReadAllBytes(path)), deflate));
        }
        using (var dense = EfficientNet.Create(config))
        {
            Add("dense", p => ModelLoader.Save(dense, p));
            Add("dense-deflated", p => ModelLoader.Save(dense, p), deflate: true);
            Add("dense-no-metadata", p => TorchCheckpoint.Save(p, dense));
        }
        using (var masked = EfficientNet.Create(config))
        {
            foreach (var (_, layer) in masked.PrunableLayers()) layer.ApplyMask((rand(layer.Weight.shape) > 0.5).to(float32));
            Add("masked", p => ModelLoader.Save(masked, p));
        }
        var widths = EfficientNetWidths.FromConfig(config);
        widths = widths with
        {
            Blocks = widths.Blocks.Select(b => b.HasExpand ? b with { Expanded = b.Expanded - 8 } : b).ToList(),
            Head = widths.Head - 8,
        };
        using (var pruned = new EfficientNet(widths)) Add("channel-pruned", p => ModelLoader.Save(pruned, p));
        return seeds;
    }

    // --- mutations -------------------------------------------------------------------------------------------

    public enum Kind
    {
        FlipBits, SetByte, Truncate, ZipField,
        PickleInt, PickleLength, PickleOpcode, PickleDelete, PickleRepeat,
        StorageResize, DropRecord,
        JsonNumber, JsonRemove, JsonType, JsonTruncate,
    }

    /// <summary>One edit: <see cref="Target"/> picks what (an opcode, a header, a field…), <see cref="At"/> where,
    /// <see cref="Value"/> which interesting value; each is taken modulo what the input offers.</summary>
    public sealed record Mutation(Kind Kind, int Target, int At, int Value)
    {
        public bool OnFile => Kind is Kind.FlipBits or Kind.SetByte or Kind.Truncate or Kind.ZipField;
    }

    public sealed record FuzzCase(int Seed, Mutation[] Mutations)
    {
        public override string ToString() => $"seed {Seed}: {string.Join(", ", Mutations.Select(m => m.ToString()))}";
    }

    private static readonly long[] InterestingInts =
    [
        0, 1, -1, 2, 3, 4, 7, 8, 16, 255, 256, 65535, 65536, 1 << 20, int.MaxValue, int.MinValue, 1L << 31, 1L << 32,
        (1L << 32) + 8, 1L << 40, 1L << 62, long.MaxValue, long.MinValue, -32,
    ];

    private static readonly uint[] InterestingFields =
    [
        0, 1, 2, 8, 0xFF, 0xFFFF, 0x10000, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0xFFFFFFFE, 1000, 64,
    ];

    private static readonly byte[] Opcodes = "()tRuQbN012aesld}]hqjrIFpgV.M"u8.ToArray()
        .Concat(new byte[] { 0x80, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8b, 0x8c, 0x8d, 0x8e, 0x8f, 0x90, 0x91, 0x93, 0x94, 0x95, 0x96, 0x81, 0x92 })
        .ToArray();

    private static readonly int[] RepeatCounts = [1, 2, 16, 5000, 70_000];

    private static readonly Gen<Mutation> Mutations =
        from kind in Gen.Elements(Enum.GetValues<Kind>())
        from target in Gen.Choose(0, 1 << 20)
        from at in Gen.Choose(0, int.MaxValue)
        from value in Gen.Choose(0, 1 << 16)
        select new Mutation(kind, target, at, value);

    private static Arbitrary<FuzzCase> Cases(int seeds) => Arb.From(
        from seed in Gen.Choose(0, seeds - 1)
        from count in Gen.Choose(1, 3)
        from mutations in Gen.ArrayOf(Mutations, count)
        select new FuzzCase(seed, mutations),
        c => c.Mutations.Length <= 1
            ? []
            : Enumerable.Range(0, c.Mutations.Length).Select(i => c with { Mutations = [.. c.Mutations[..i], .. c.Mutations[(i + 1)..]] }));

    private static byte[] Build(Seed seed, Mutation[] mutations)
    {
        var records = seed.Records.Select(r => (r.Entry, Data: r.Data.ToArray())).ToList();
        foreach (var m in mutations.Where(m => !m.OnFile)) ApplyToRecords(records, m);
        byte[] file = CraftedCheckpoint.ZipBytes(records, seed.Deflated ? CompressionLevel.Optimal : CompressionLevel.NoCompression);
        foreach (var m in mutations.Where(m => m.OnFile)) file = ApplyToFile(file, m);
        return file;
    }

    private static byte[] ApplyToFile(byte[] file, Mutation m)
    {
        if (file.Length == 0) return file;
        int at = m.At % file.Length;
        switch (m.Kind)
        {
            case Kind.FlipBits:
                for (int i = 0; i <= m.Target % 4; i++) file[(at + 7919 * i) % file.Length] ^= (byte)(1 << ((m.Value + i) % 8));
                return file;
            case Kind.SetByte:
                file[at] = (byte)new[] { 0, 0xFF, 0x7F, 0x80, 1, m.Value }[m.Target % 6];
                return file;
            case Kind.Truncate:
                return file[..at];
            default: // ZipField
                {
                    var fields = new (uint Signature, int Offset, int Width)[]
                    {
                    (CraftedCheckpoint.LocalHeader, 6, 2), (CraftedCheckpoint.LocalHeader, 8, 2), (CraftedCheckpoint.LocalHeader, 14, 4),
                    (CraftedCheckpoint.LocalHeader, 18, 4), (CraftedCheckpoint.LocalHeader, 22, 4), (CraftedCheckpoint.LocalHeader, 26, 2),
                    (CraftedCheckpoint.LocalHeader, 28, 2), (CraftedCheckpoint.CentralHeader, 10, 2), (CraftedCheckpoint.CentralHeader, 16, 4),
                    (CraftedCheckpoint.CentralHeader, 20, 4), (CraftedCheckpoint.CentralHeader, 24, 4), (CraftedCheckpoint.CentralHeader, 28, 2),
                    (CraftedCheckpoint.CentralHeader, 30, 2), (CraftedCheckpoint.CentralHeader, 32, 2), (CraftedCheckpoint.CentralHeader, 42, 4),
                    (CraftedCheckpoint.EndOfCentralDirectory, 8, 2), (CraftedCheckpoint.EndOfCentralDirectory, 10, 2),
                    (CraftedCheckpoint.EndOfCentralDirectory, 12, 4), (CraftedCheckpoint.EndOfCentralDirectory, 16, 4),
                    (CraftedCheckpoint.EndOfCentralDirectory, 20, 2),
                    };
                    var (signature, offset, width) = fields[m.Target % fields.Length];
                    var headers = CraftedCheckpoint.HeaderOffsets(file, signature);
                    if (headers.Count == 0) return file;
                    int h = headers[at % headers.Count] + offset;
                    if (h + width > file.Length) return file;
                    uint[] values = [.. InterestingFields, (uint)file.Length, (uint)m.Value];
                    uint v = values[m.Value % values.Length];
                    if (width == 2) BinaryPrimitives.WriteUInt16LittleEndian(file.AsSpan(h), (ushort)v);
                    else BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(h), v);
                    return file;
                }
        }
    }

    private static void ApplyToRecords(List<(string Entry, byte[] Data)> records, Mutation m)
    {
        int Find(Func<string, bool> which)
        {
            var found = records.Select((r, i) => (r.Entry, i)).Where(r => which(r.Entry)).Select(r => r.i).ToList();
            return found.Count == 0 ? -1 : found[m.Target % found.Count];
        }

        switch (m.Kind)
        {
            case Kind.PickleInt or Kind.PickleLength or Kind.PickleOpcode or Kind.PickleDelete or Kind.PickleRepeat:
                {
                    int i = Find(e => e.EndsWith("/data.pkl", StringComparison.Ordinal));
                    if (i >= 0) records[i] = (records[i].Entry, MutatePickle(records[i].Data, m));
                    return;
                }
            case Kind.StorageResize:
                {
                    int i = Find(e => e.Contains("/data/", StringComparison.Ordinal));
                    if (i < 0) return;
                    byte[] d = records[i].Data;
                    int[] deltas = [-1, 1, -4, 4, -d.Length / 2, d.Length, -d.Length];
                    int delta = deltas[m.Value % deltas.Length];
                    records[i] = (records[i].Entry, delta < 0 ? d[..Math.Max(0, d.Length + delta)] : [.. d, .. new byte[delta]]);
                    return;
                }
            case Kind.DropRecord:
                {
                    if (records.Count > 0) records.RemoveAt(m.Target % records.Count);
                    return;
                }
            default:
                {
                    int i = Find(e => e.EndsWith("/" + TorchCheckpoint.MetadataRecord, StringComparison.Ordinal));
                    if (i >= 0) records[i] = (records[i].Entry, MutateJson(records[i].Data, m));
                    return;
                }
        }
    }

    /// <summary>Opcode boundaries of the pickle subset torch.save and Harness write (offset, length, opcode); stops at
    /// the first opcode it does not know, so a pickle that earlier mutations broke still offers its prefix.</summary>
    private static List<(int At, int Length, byte Op)> Disassemble(byte[] p)
    {
        var ops = new List<(int, int, byte)>();
        int i = 0;
        while (i < p.Length)
        {
            byte op = p[i];
            long len = op switch
            {
                0x80 or (byte)'K' or (byte)'q' or (byte)'h' => 2,
                (byte)'M' => 3,
                (byte)'J' or (byte)'r' or (byte)'j' => 5,
                (byte)'G' or 0x95 => 9,
                (byte)'X' or (byte)'B' or 0x8b => i + 5 <= p.Length ? 5L + BinaryPrimitives.ReadUInt32LittleEndian(p.AsSpan(i + 1)) : -1,
                0x8a or 0x8c or (byte)'C' => i + 2 <= p.Length ? 2 + p[i + 1] : -1,
                (byte)'c' => LineEnd(p, LineEnd(p, i + 1)) is var end and > 0 ? end - i : -1,
                (byte)'(' or (byte)'t' or (byte)')' or (byte)'R' or (byte)'u' or (byte)'Q' or 0x88 or 0x89 or (byte)'}'
                    or (byte)'.' or (byte)'N' or (byte)'b' or (byte)'s' or (byte)']' or (byte)'a' or (byte)'e' or (byte)'l'
                    or (byte)'d' or (byte)'0' or (byte)'1' or (byte)'2' or 0x85 or 0x86 or 0x87 or 0x94 or 0x93 or 0x81 => 1,
                _ => -1,
            };
            if (len <= 0 || i + len > p.Length) break;
            ops.Add((i, (int)len, op));
            i += (int)len;
        }
        return ops;
    }

    private static int LineEnd(byte[] p, int from)
    {
        if (from < 0 || from >= p.Length) return -1;
        int nl = Array.IndexOf(p, (byte)'\n', from);
        return nl < 0 ? -1 : nl + 1;
    }

    private static byte[] MutatePickle(byte[] p, Mutation m)
    {
        var ops = Disassemble(p);
        if (ops.Count == 0) return p;
        byte[] Splice(int at, int length, byte[] with) => [.. p[..at], .. with, .. p[(at + length)..]];
        switch (m.Kind)
        {
            case Kind.PickleInt:
                {
                    var ints = ops.Where(o => o.Op is (byte)'K' or (byte)'J' or 0x8a).ToList();
                    if (ints.Count == 0) return p;
                    var (at, length, _) = ints[m.At % ints.Count];
                    long v = m.Value % 5 == 4 ? m.Value - 100 : InterestingInts[m.Value % InterestingInts.Length];
                    byte[] encoded = v is >= 0 and < 256 ? [(byte)'K', (byte)v]
                        : v is >= int.MinValue and <= int.MaxValue ? [(byte)'J', .. BitConverter.GetBytes((int)v)]
                        : [0x8a, 8, .. BitConverter.GetBytes(v)];
                    return Splice(at, length, encoded);
                }
            case Kind.PickleLength:
                {
                    var strings = ops.Where(o => o.Op == (byte)'X').ToList();
                    if (strings.Count == 0) return p;
                    var (at, length, _) = strings[m.At % strings.Count];
                    uint remaining = (uint)(p.Length - at - 5);
                    uint[] values = [.. InterestingFields, (uint)(length - 5) + 1, (uint)(length - 5) - 1, remaining, remaining + 1];
                    var q = p.ToArray();
                    BinaryPrimitives.WriteUInt32LittleEndian(q.AsSpan(at + 1), values[m.Value % values.Length]);
                    return q;
                }
            case Kind.PickleOpcode:
                {
                    var q = p.ToArray();
                    q[ops[m.At % ops.Count].At] = Opcodes[m.Value % Opcodes.Length];
                    return q;
                }
            case Kind.PickleDelete:
                {
                    var (at, length, _) = ops[m.At % ops.Count];
                    return Splice(at, length, []);
                }
            default: // PickleRepeat
                {
                    var (at, length, _) = ops[m.At % ops.Count];
                    int times = RepeatCounts[m.Value % RepeatCounts.Length];
                    var op = p.AsSpan(at, length).ToArray();
                    return Splice(at, 0, Enumerable.Repeat(op, times).SelectMany(o => o).ToArray());
                }
        }
    }

    private static byte[] MutateJson(byte[] data, Mutation m)
    {
        string text = Encoding.UTF8.GetString(data);
        if (m.Kind == Kind.JsonTruncate) return Encoding.UTF8.GetBytes(text[..(m.At % Math.Max(1, text.Length))]);
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(text);
        }
        catch (System.Text.Json.JsonException)
        {
            return data;
        }
        if (root is null) return data;
        var leaves = new List<(JsonNode Parent, string? Property, int Index)>();
        void Walk(JsonNode node)
        {
            if (node is JsonObject o)
                foreach (var (k, v) in o.ToList())
                {
                    leaves.Add((o, k, -1));
                    if (v is not null) Walk(v);
                }
            else if (node is JsonArray a)
                for (int i = 0; i < a.Count; i++)
                {
                    leaves.Add((a, null, i));
                    if (a[i] is { } v) Walk(v);
                }
        }
        Walk(root);
        if (leaves.Count == 0) return data;
        var (parent, property, index) = leaves[m.At % leaves.Count];
        JsonNode? replacement = m.Kind switch
        {
            Kind.JsonNumber => new JsonNode?[]
            {
                0, -1, -32, 1, 2, 3, 7, 200_000_000, 65537, int.MaxValue, 1e40, 0.5, m.Value,
            }[m.Value % 13],
            Kind.JsonType => new JsonNode?[] { "x", true, null, new JsonArray(), new JsonObject() }[m.Value % 5],
            _ => null,
        };
        if (m.Kind == Kind.JsonRemove)
        {
            if (parent is JsonObject po) po.Remove(property!);
            else ((JsonArray)parent).RemoveAt(index);
        }
        else if (parent is JsonObject po) po[property!] = replacement;
        else ((JsonArray)parent)[index] = replacement;
        return Encoding.UTF8.GetBytes(root.ToJsonString());
    }

    // --- the property ----------------------------------------------------------------------------------------

    private enum Outcome { Loaded, FormatError, Mismatch }

    private void Fuzz(int cases)
    {
        var seeds = MakeSeeds();
        foreach (var seed in seeds) Assert.That(Load(Build(seed, [])).Outcome, Is.EqualTo(Outcome.Loaded), $"seed {seed.Name} loads unmutated");
        // The bound is on what loading takes, so what earlier tests in this process left (tensors awaiting their
        // finalizers, freed native pages) is handed back first: the peak is then measured from a quiet baseline.
        GC.Collect();
        GC.WaitForPendingFinalizers();
        Harness.Runtime.NativeMemory.Release();
        ResetPeakWorkingSet();
        var counts = new Dictionary<Outcome, int>();
        var reasons = new Dictionary<string, int>();
        long maxManaged = 0;
        var sw = Stopwatch.StartNew();
        Prop.ForAll(Cases(seeds.Count), c =>
        {
            byte[] file = Build(seeds[c.Seed], c.Mutations);
            long before = GC.GetAllocatedBytesForCurrentThread();
            var (outcome, reason) = Load(file);
            long managed = GC.GetAllocatedBytesForCurrentThread() - before;
            maxManaged = Math.Max(maxManaged, managed);
            counts[outcome] = counts.GetValueOrDefault(outcome) + 1;
            reasons[reason] = reasons.GetValueOrDefault(reason) + 1;
            long peak = PeakWorkingSet();
            if (managed > ManagedBytesPerCaseBound)
                throw new InvalidOperationException($"{c}: {managed} managed bytes allocated by one load of a {file.Length}-byte file");
            if (peak > PeakWorkingSetBound)
                throw new InvalidOperationException($"{c}: peak working set {peak >> 20} MiB exceeds {PeakWorkingSetBound >> 20} MiB");
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(cases).WithQuietOnSuccess(true));
        sw.Stop();
        TestContext.Progress.WriteLine(
            $"checkpoint fuzz: {cases} cases in {sw.Elapsed.TotalSeconds:F1} s; " +
            string.Join(", ", counts.OrderBy(k => k.Key).Select(k => $"{k.Key} {k.Value}")) +
            $"; peak working set {PeakWorkingSet() >> 20} MiB; most managed bytes in one case {maxManaged >> 20} MiB");
        foreach (var (reason, n) in reasons.OrderByDescending(r => r.Value).Take(25))
            TestContext.Progress.WriteLine($"  {n,6}  {reason}");
    }

    /// <summary>Loads a checkpoint's bytes as users do; any exception but the two documented ones escapes.</summary>
    private (Outcome Outcome, string Reason) Load(byte[] file)
    {
        string path = Path.Combine(Dir, "case.pth");
        File.WriteAllBytes(path, file);
        try
        {
            using (var sd = TorchCheckpoint.Load(path))
            {
                long allowed = CheckpointLimits.MaterialisedBytesAllowed(CheckpointLimits.MaxCompressionRatio * (long)file.Length);
                long total = sd.Items.Sum(kv => kv.Value.numel() * kv.Value.ElementSize);
                if (total > allowed)
                    throw new InvalidOperationException($"{total} bytes of tensors from a {file.Length}-byte file (allowed {allowed})");
            }
            using var model = EfficientNets.LoadCheckpoint(path);
            model.eval();
            using var _ = no_grad();
            using var scope = NewDisposeScope();
            var y = model.call(randn(1, 3, 32, 32));
            if (!y.shape.SequenceEqual(new long[] { 1, model.Widths.NumClasses }))
                throw new InvalidOperationException($"a loaded model gives shape [{string.Join(", ", y.shape)}]");
            return (Outcome.Loaded, "loaded");
        }
        catch (CheckpointFormatException ex)
        {
            return (Outcome.FormatError, Reason(ex.Message, path));
        }
        catch (CheckpointMismatchException ex)
        {
            return (Outcome.Mismatch, Reason(ex.Message, path));
        }
    }

    /// <summary>The message without the path and numbers, cut to a few words: a histogram key.</summary>
    private static string Reason(string message, string path)
    {
        string m = message.Replace(path, "").TrimStart(':', ' ');
        m = System.Text.RegularExpressions.Regex.Replace(m, @"^\S*data\.pkl: ", "");
        var words = m.Split(' ', StringSplitOptions.RemoveEmptyEntries).Take(6)
            .Select(w => w.Any(char.IsDigit) ? "#" : w);
        return string.Join(' ', words);
    }

    private static void ResetPeakWorkingSet()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5"); // Linux: resets VmHWM, the peak resident set
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Elsewhere the peak since process start is the bound checked.
        }
    }

    private static long PeakWorkingSet()
    {
        using var p = Process.GetCurrentProcess();
        return p.PeakWorkingSet64;
    }
}
