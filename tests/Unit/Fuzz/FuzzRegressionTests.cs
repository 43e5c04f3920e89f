using Harness.Fuzz;
using Harness.Tests.TestSupport;

namespace Harness.Tests.Unit.Fuzz;

/// <summary>
/// The fuzz targets outside afl-fuzz: every input a campaign found (<c>fuzz/regressions/TARGET/</c>) now ends in a
/// value or one documented error within the contract's time and memory, and every target reads the seeds Harness
/// writes for it to a value (so a target that silently skips everything, or a seed that no longer parses, fails).
/// </summary>
[TestFixture]
public sealed class FuzzRegressionTests : TempDirectoryTest
{
    private static string Regressions => Path.Combine(SharedData.RepoRoot, "fuzz", "regressions");

    public static IEnumerable<TestCaseData> RegressionInputs() =>
        Directory.Exists(Regressions)
            ? Directory.GetDirectories(Regressions).OrderBy(d => d, StringComparer.Ordinal)
                .SelectMany(d => Directory.GetFiles(d).OrderBy(f => f, StringComparer.Ordinal)
                    .Select(f => new TestCaseData(Path.GetFileName(d), f).SetName($"Regression({Path.GetFileName(d)}/{Path.GetFileName(f)})")))
            : [];

    [OneTimeSetUp]
    public void LoadNativeLibraries()
    {
        // The first input of a process pays for libtorch, SkiaSharp and ONNX Runtime; time the others only.
        foreach (var target in FuzzTargets.All) FuzzContract.Check(target, [], TimeSpan.FromMinutes(1));
    }

    [TestCaseSource(nameof(RegressionInputs))]
    public void FoundInputKeepsTheContract(string target, string file)
    {
        var outcome = FuzzContract.Check(FuzzTargets.Named(target), File.ReadAllBytes(file), TimeSpan.FromSeconds(5));
        Assert.That(outcome.Verdict, Is.Not.EqualTo(FuzzVerdict.Finding), $"{outcome.Detail}\n{outcome.Exception}");
    }

    [Test]
    public void EveryTargetReadsTheSeedsHarnessWritesToAValue()
    {
        FuzzSeeds.Write(Dir);
        var seeded = Directory.GetDirectories(Dir).Select(Path.GetFileName).Where(n => n != "dict").ToList();
        Assert.That(seeded, Is.SupersetOf(new[] { "torch", "pickle", "safetensors", "sparse", "onnx-import", "onnx-metadata", "image", "study-config", "group-ratios", "sensitivity" }));
        foreach (var name in seeded)
            foreach (var file in Directory.GetFiles(Path.Combine(Dir, name!)))
            {
                var outcome = FuzzContract.Check(FuzzTargets.Named(name!), File.ReadAllBytes(file), TimeSpan.FromSeconds(5));
                Assert.That(outcome.Verdict, Is.EqualTo(FuzzVerdict.Value), $"{name}/{Path.GetFileName(file)}: {outcome.Detail}");
            }
        Assert.That(File.ReadAllText(Path.Combine(Dir, "dict", "json.dict")), Does.Contain("seed").And.Contain("groupRatios"));
    }

    [Test]
    public void AnExceptionOutsideTheDocumentedOnesIsAFinding()
    {
        var target = new FuzzTarget("throws", ".bin", "test", _ => throw new NullReferenceException("planted"));
        Assert.That(FuzzContract.Check(target, [1, 2, 3]).Verdict, Is.EqualTo(FuzzVerdict.Finding));
        var refused = new FuzzTarget("refuses", ".bin", "test", path => throw new InvalidDataException($"{path}: planted"));
        Assert.That(FuzzContract.Check(refused, [1, 2, 3]).Verdict, Is.EqualTo(FuzzVerdict.Refused));
        var slow = new FuzzTarget("slow", ".bin", "test", _ => Thread.Sleep(300));
        Assert.That(FuzzContract.Check(slow, [1], TimeSpan.FromMilliseconds(100)).Verdict, Is.EqualTo(FuzzVerdict.Finding));
        var greedy = new FuzzTarget("greedy", ".bin", "test", _ =>
        {
            var block = new byte[FuzzContract.MemoryCapBytes + (64L << 20)];
            Array.Fill(block, (byte)1);
            GC.KeepAlive(block);
        });
        Assert.That(FuzzContract.Check(greedy, [1]).Verdict, Is.EqualTo(FuzzVerdict.Finding));
    }
}
