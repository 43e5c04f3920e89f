using Harness.Storage.Files;
using Harness.Tests.TestSupport;
using Harness.Training;
using static Harness.Tests.Unit.Training.TinyTraining;

namespace Harness.Tests.Unit.Training;

public class TrainingStateTests : TempDirectoryTest
{
    // With this rate epoch 2 is a new best and epoch 3 is not, so the saves take both paths of the best model.
    private static readonly TrainingOptions ThreeEpochs = new() { Epochs = 3, StepSize = 2, FrozenStages = [0], ImageSize = 32, LearningRate = 0.02 };
    private readonly Harness.Data.ImageDataset _train = Synthetic(192, 2); // enough batches for the BatchNorm statistics to settle, so that epoch 2 improves on epoch 1
    private readonly Harness.Data.ImageDataset _val = Synthetic(16, 3);

    private sealed class SimulatedCrash(string point) : Exception($"simulated crash at: {point}");

    private TrainingResult Train(TrainingOptions options, Harness.Model.Families.EfficientNet model, TrainingRun run, bool resume,
        TextWriter? log = null, Action<string>? boundary = null) =>
        new Trainer(options, log ?? TextWriter.Null) { WriteBoundary = boundary }
            .Train(model, Loader(_train, true), Loader(_val, false), run, resume);

    private static void CopyTree(string from, string to)
    {
        foreach (var dir in Directory.EnumerateDirectories(from, "*", SearchOption.AllDirectories))
            Directory.CreateDirectory(Path.Combine(to, Path.GetRelativePath(from, dir)));
        Directory.CreateDirectory(to);
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
            File.Copy(file, Path.Combine(to, Path.GetRelativePath(from, file)));
    }

    private static List<string> Temporaries(string root) =>
        Directory.EnumerateFileSystemEntries(root, "*", SearchOption.AllDirectories).Where(p => AtomicFile.IsTemporary(p)).ToList();

    private static List<string> Generations(TrainingRun run) =>
        Directory.EnumerateDirectories(run.StateFolder).Select(Path.GetFileName).Where(n => n!.StartsWith("state-")).ToList()!;

    /// <summary>An uninterrupted three-epoch run whose epoch 2 improves on epoch 1, with the options that made it: the
    /// first learning rate of a fixed list with which that happens (it depends on the CPU's floating-point kernels).</summary>
    private (TrainingOptions Options, TrainingRun Run, Harness.Model.Families.EfficientNet Model, TrainingResult Result) StraightRunWhoseSecondEpochIsANewBest()
    {
        var tried = new List<string>();
        foreach (double lr in new[] { 0.02, 0.05, 0.01, 0.1, 0.005 })
        {
            var options = ThreeEpochs with { LearningRate = lr };
            var run = TrainingRun.For("r", Path.Combine(Dir, $"straight-{lr}"));
            var model = TinyModel();
            var result = Train(options, model, run, resume: false);
            var acc = result.History.Select(h => h.ValidationAccuracy).ToList();
            if (acc[1] > acc[0]) return (options, run, model, result);
            model.Dispose();
            tried.Add($"lr {lr}: {string.Join(",", acc)}");
        }
        Assert.Fail("no learning rate made epoch 2 a new best: " + string.Join("; ", tried));
        throw new InvalidOperationException();
    }

    [Test]
    public void ACrashAtAnyWriteBoundaryOfAnEpochsSaveResumesToTheUninterruptedResult()
    {
        using var _ = Threads(1);
        // The crashes must hit the save of an epoch that is a new best (it replaces best.pth and removes the previous
        // generation). Whether epoch 2 improves on epoch 1 depends on the CPU's floating-point kernels, so the first
        // learning rate of a fixed list with which it does is used; every run below uses that rate.
        var (options, straightRun, straight, expected) = StraightRunWhoseSecondEpochIsANewBest();
        using var straightModel = straight;

        // Every crash starts from a run that stopped cleanly after epoch 1 and crashes while saving epoch 2.
        string start = Path.Combine(Dir, "start");
        using (var m = TinyModel()) Train(options with { Epochs = 1 }, m, TrainingRun.For("r", start), resume: false);
        var points = new List<string>();
        string probe = Path.Combine(Dir, "probe");
        CopyTree(start, probe);
        using (var m = TinyModel()) Train(options with { Epochs = 2 }, m, TrainingRun.For("r", probe), resume: true, boundary: points.Add);
        int commit = points.IndexOf("state-0002: after renaming the folder into place");
        Assert.That(commit, Is.GreaterThan(0), string.Join("\n", points));
        Assert.That(points, Has.Some.StartsWith("before copying best.pth").And.Some.StartsWith("before removing state-0001"),
            "epoch 2 must be a new best (its save then replaces the best model and removes the previous generation); validation accuracies " + string.Join(",", expected.History.Select(h => h.ValidationAccuracy)));

        int leftTemporaries = 0;
        for (int k = 0; k < points.Count; k++)
        {
            string root = Path.Combine(Dir, $"crash-{k}");
            CopyTree(start, root);
            var run = TrainingRun.For("r", root);
            int calls = 0;
            using (var m = TinyModel())
                Assert.Throws<SimulatedCrash>(() => Train(options, m, run, resume: true,
                    boundary: p => { if (calls++ == k) throw new SimulatedCrash(p); }));
            if (Temporaries(root).Count > 0) leftTemporaries++;

            using var resumed = TinyModel();
            var log = new StringWriter();
            var result = Train(options, resumed, run, resume: true, log);
            string context = $"crash at boundary {k} ({points[k]})";
            Assert.That(log.ToString(), Does.Contain($"Resuming r after epoch {(k < commit ? 1 : 2)}/3"), context);
            AssertSameWeights(straight, resumed, context);
            Assert.That(Untimed(result.History), Is.EqualTo(Untimed(expected.History)), context);
            Assert.That(Untimed(TrainingHistory.Load(run.HistoryBase + ".json")), Is.EqualTo(Untimed(expected.History)), context);
            AssertSameCheckpoint(straightRun.BestModelPath, run.BestModelPath, context);
            Assert.That(Temporaries(root), Is.Empty, context);
            Assert.That(Generations(run), Is.EqualTo(new[] { "state-0003" }), context);
            Directory.Delete(root, recursive: true);
        }
        Assert.That(leftTemporaries, Is.GreaterThan(0), "some crash points leave temporary files for the next start to remove");
        TestContext.Out.WriteLine($"{points.Count} write boundaries:\n{string.Join("\n", points)}");
    }

    [TestCase(false)]
    [TestCase(true)]
    public void StartingARunRemovesTemporariesThatKilledWritesLeft(bool resume)
    {
        var run = TrainingRun.For("t", Dir);
        using (var m = TinyModel()) Train(ThreeEpochs with { Epochs = 1 }, m, run, resume: false);
        string models = Path.GetDirectoryName(run.BestModelPath)!;
        string staleFile = AtomicFile.TemporaryPathFor(run.HistoryBase + ".json");
        string staleFolder = AtomicFile.TemporaryPathFor(run.GenerationFolder(2));
        string staleBest = AtomicFile.TemporaryPathFor(run.BestModelPath);
        string otherRuns = AtomicFile.TemporaryPathFor(Path.Combine(models, "other.pth"));
        string notes = Path.Combine(run.StateFolder, "notes.txt");
        File.WriteAllText(staleFile, "half a history");
        Directory.CreateDirectory(staleFolder);
        File.WriteAllText(Path.Combine(staleFolder, "model.pth"), "half a model");
        File.WriteAllText(staleBest, "half a model");
        File.WriteAllText(otherRuns, "another run's write in flight");
        File.WriteAllText(notes, "not ours to remove");

        var log = new StringWriter();
        using (var m = TinyModel()) Train(ThreeEpochs with { Epochs = 2 }, m, run, resume, log);

        Assert.That(File.Exists(staleFile) || Directory.Exists(staleFolder) || File.Exists(staleBest), Is.False);
        Assert.That(File.Exists(otherRuns) && File.Exists(notes), Is.True, "only this run's temporaries are removed");
        Assert.That(log.ToString(), Does.Contain("Removed 3 temporary file(s) left by interrupted writes"));
    }

    [Test]
    public void TheStateIsOneVerifiedFolderPerEpochAndOnlyTheNewestIsKept()
    {
        var run = TrainingRun.For("s", Dir);
        using (var m = TinyModel()) Train(ThreeEpochs with { Epochs = 2 }, m, run, resume: false);
        Assert.That(Generations(run), Is.EqualTo(new[] { "state-0002" }));
        Assert.That(Directory.EnumerateFiles(run.GenerationFolder(2)).Select(Path.GetFileName),
            Is.EquivalentTo(new[] { "model.pth", "optimizer.pth", "best.pth", "history.json", "history.csv", "progress.json", "manifest.json" }));
        Assert.That(File.ReadAllBytes(run.BestModelPath), Is.EqualTo(File.ReadAllBytes(Path.Combine(run.GenerationFolder(2), "best.pth"))));
        Assert.That(File.ReadAllBytes(run.HistoryBase + ".csv"), Is.EqualTo(File.ReadAllBytes(Path.Combine(run.GenerationFolder(2), "history.csv"))));
    }

    [Test]
    public void AGenerationThatFailsItsManifestIsNotResumedFrom()
    {
        var run = TrainingRun.For("c", Dir);
        using (var m = TinyModel()) Train(ThreeEpochs with { Epochs = 1 }, m, run, resume: false);
        string model = Path.Combine(run.GenerationFolder(1), "model.pth");
        var bytes = File.ReadAllBytes(model);
        bytes[^100] ^= 1;
        File.WriteAllBytes(model, bytes);

        var log = new StringWriter();
        using var resumed = TinyModel();
        var result = Train(ThreeEpochs with { Epochs = 1 }, resumed, run, resume: true, log);
        Assert.That(log.ToString(), Does.Contain("model.pth does not match its SHA-256 in the manifest").And.Not.Contain("Resuming"));
        Assert.That(result.History, Has.Count.EqualTo(1), "the run starts over");
        using var straight = TinyModel();
        Train(ThreeEpochs with { Epochs = 1 }, straight, TrainingRun.For("c", Path.Combine(Dir, "straight")), resume: false);
        AssertSameWeights(straight, resumed, "started over");
    }

    [Test]
    public void ResumeRestoresABestModelThatNoLongerMatchesTheState()
    {
        var run = TrainingRun.For("b", Dir);
        using (var m = TinyModel()) Train(ThreeEpochs with { Epochs = 1 }, m, run, resume: false);
        var best = File.ReadAllBytes(run.BestModelPath);
        File.WriteAllText(run.BestModelPath, "a model from somewhere else");
        var log = new StringWriter();
        using (var m = TinyModel()) Train(ThreeEpochs with { Epochs = 1 }, m, run, resume: true, log);
        Assert.That(File.ReadAllBytes(run.BestModelPath), Is.EqualTo(best));
        Assert.That(log.ToString(), Does.Contain($"{run.BestModelPath} did not match the saved state; restored it"));
    }

    [Test]
    public void ResumingStateInTheOldLayoutIsRefusedNamingTheFolder()
    {
        var run = TrainingRun.For("old", Dir);
        Directory.CreateDirectory(run.StateFolder);
        File.WriteAllText(Path.Combine(run.StateFolder, "last_state.json"), "{\"CompletedEpochs\":1}");
        using var m = TinyModel();
        var ex = Assert.Throws<InvalidDataException>(() => Train(ThreeEpochs, m, run, resume: true));
        Assert.That(ex!.Message, Does.Contain(run.StateFolder).And.Contain("old layout"));
    }
}
