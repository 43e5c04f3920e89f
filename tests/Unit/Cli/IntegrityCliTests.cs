using Harness.Cli;
using Harness.Model;
using Harness.Model.Families;
using Harness.Tests.TestSupport;
using System.CommandLine;
using System.Diagnostics;
using System.Security.Cryptography;

namespace Harness.Tests.Unit.Cli;

/// <summary>
/// The command line refuses what makes no sense, up front and in one line (exit 2); a bug is one line too (exit 70)
/// with the stack trace in a log file; nothing is written outside --out, no input is overwritten, no earlier result
/// is replaced without --force, and one output folder has one writer.
/// </summary>
public sealed class IntegrityCliTests : TempDirectoryTest
{
    private static (int Code, string Out, string Err) Harness(params string[] args) => HarnessCli.Run(args);

    private static void AssertOneLineError((int Code, string Out, string Err) r, string mentions)
    {
        Assert.That(r.Code, Is.EqualTo(2), r.Err + r.Out);
        var lines = r.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines, Has.Length.EqualTo(1), r.Err);
        Assert.That(lines[0], Does.StartWith("error: ").And.Contain(mentions));
    }

    private string Data() => SyntheticCifar.WriteBinary(Path.Combine(Dir, "data"), 40, 20);

    private string[] TinyTrain(string data, string outDir, params string[] extra) =>
        Overriding(["train", "--data", data, "--weights", "none", "--image-size", "32", "--batch-size", "16", "--epochs", "1",
            "--train-subset", "32", "--val-subset", "16", "--out", outDir], extra);

    /// <summary>The arguments with <paramref name="extra"/>'s options replacing the same options' values.</summary>
    public static string[] Overriding(string[] args, string[] extra)
    {
        var list = args.ToList();
        for (int i = 0; i < extra.Length; i++)
        {
            bool hasValue = i + 1 < extra.Length && !extra[i + 1].StartsWith("--", StringComparison.Ordinal);
            int at = list.IndexOf(extra[i]);
            if (at >= 0 && hasValue) list[at + 1] = extra[i + 1];
            else
            {
                list.Add(extra[i]);
                if (hasValue) list.Add(extra[i + 1]);
            }
            if (hasValue) i++;
        }
        return list.ToArray();
    }

    private static string Sha(string path) => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path)));

    [TestCase("--image-size", "0", "evaluate")]
    [TestCase("--image-size", "100000", "metrics")]
    [TestCase("--test-subset", "0", "evaluate")]
    [TestCase("--train-subset", "0", "train")]
    [TestCase("--batch-size", "0", "train")]
    [TestCase("--lr", "Infinity", "train")]
    [TestCase("--lr", "1e308", "train")]
    [TestCase("--lr", "-0.1", "study")]
    [TestCase("--runs", "-1", "metrics")]
    [TestCase("--epochs", "abc", "train")]
    [TestCase("--runs", "0", "sweep")]
    public void AnOptionOutsideItsRangeIsOneLineNamingIt(string option, string value, string command) =>
        AssertOneLineError(Harness(command, option, value), option);

    [Test]
    public void AnImageSizeBeyondTheMemoryEstimateIsRefusedWithTheAcceptedRange()
    {
        var r = Harness("metrics", "--image-size", "4000", "--batch-size", "64", "--runs", "0");
        AssertOneLineError(r, "--image-size 4000 with --batch-size 64");
        Assert.That(r.Err, Does.Contain("accepted at this batch size: 32.."));
    }

    [Test]
    public void AnInternalErrorIsOneLineWithTheStackTraceInALog()
    {
        var boom = new Command("boom");
        boom.SetAction((Func<ParseResult, int>)(_ => throw new InvalidOperationException("an invariant broke")));
        var error = new StringWriter();
        string before = CliRunner.LogFolder;
        CliRunner.LogFolder = Path.Combine(Dir, "logs");
        try
        {
            int code = CliRunner.Run(new RootCommand { boom }, ["boom"], TextWriter.Null, error);
            Assert.That(code, Is.EqualTo(70));
            var lines = error.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.That(lines, Has.Length.EqualTo(1));
            Assert.That(lines[0], Does.StartWith("internal error: InvalidOperationException: an invariant broke"));
            string log = Directory.GetFiles(CliRunner.LogFolder).Single();
            Assert.That(lines[0], Does.Contain(log));
            Assert.That(File.ReadAllText(log), Does.Contain("at ").And.Contain("an invariant broke"));
        }
        finally
        {
            CliRunner.LogFolder = before;
        }
    }

    [Test]
    public void AMissingDataFolderIsAnErrorAndNothingIsCreated()
    {
        string missing = Path.Combine(Dir, "no-such-data");
        AssertOneLineError(Harness(TinyTrain(missing, Path.Combine(Dir, "out"))), "--download");
        Assert.That(Directory.Exists(missing), Is.False, "the path was created");
        File.WriteAllText(Path.Combine(Dir, "a-file"), "x");
        AssertOneLineError(Harness(TinyTrain(Path.Combine(Dir, "a-file"), Path.Combine(Dir, "out"))), "is a file");
    }

    [TestCase("../../escape")]
    [TestCase("/abs/path")]
    [TestCase("..")]
    [TestCase("a/b")]
    public void ARunNameWithFoldersIsRefusedAndNothingIsWritten(string name)
    {
        var r = Harness(TinyTrain(Data(), Path.Combine(Dir, "out"), "--name", name));
        AssertOneLineError(r, "--name");
        Assert.That(Directory.Exists(Path.Combine(Dir, "out")), Is.False);
    }

    [Test]
    public void PruningNeverOverwritesItsInputNorAnEarlierResultWithoutForce()
    {
        string input = Path.Combine(Dir, "in.pth");
        using (var m = EfficientNet.Create(EfficientNetConfig.Scaled(0.25, 0.34, 10))) ModelLoader.Save(m, input);
        string hash = Sha(input);
        AssertOneLineError(Harness("prune", "fine-grained", "--weights", input, "--out", input), "is the --weights file");
        AssertOneLineError(Harness("prune", "channel", "--weights", input, "--out", Path.Combine(Dir, ".", "in.pth")), "is the --weights file");
        Assert.That(Sha(input), Is.EqualTo(hash), "the input changed");

        string output = Path.Combine(Dir, "out.pth");
        Assert.That(Harness("prune", "channel", "--weights", input, "--ratio", "0.5", "--out", output).Code, Is.Zero);
        string first = Sha(output);
        AssertOneLineError(Harness("prune", "channel", "--weights", input, "--ratio", "0.3", "--out", output), "--force");
        Assert.That(Sha(output), Is.EqualTo(first));
        Assert.That(Harness("prune", "channel", "--weights", input, "--ratio", "0.3", "--out", output, "--force").Code, Is.Zero);
        Assert.That(Sha(output), Is.Not.EqualTo(first));
    }

    [Test]
    public void TrainingRefusesToReplaceAnEarlierRunOrResumeWithOtherSettings()
    {
        string data = Data(), outDir = Path.Combine(Dir, "out");
        var first = Harness(TinyTrain(data, outDir));
        Assert.That(first.Code, Is.Zero, first.Err);
        string best = Path.Combine(outDir, "models", "efficientnet_b0_base.pth");
        string hash = Sha(best);

        AssertOneLineError(Harness(TinyTrain(data, outDir)), "--resume");
        var otherLr = Harness(TinyTrain(data, outDir, "--resume", "--lr", "0.02"));
        AssertOneLineError(otherLr, "lr: 0.01 → 0.02");
        AssertOneLineError(Harness(TinyTrain(data, outDir, "--resume", "--seed", "7")), "seed: 42 → 7");
        AssertOneLineError(Harness(TinyTrain(data, outDir, "--resume", "--freeze", "none")), "freeze");
        AssertOneLineError(Harness(TinyTrain(data, outDir, "--resume", "--train-subset", "24")), "train_subset: 32 → 24");
        string otherData = SyntheticCifar.WriteBinary(Path.Combine(Dir, "data2"), 40, 20, seed: 3);
        AssertOneLineError(Harness(TinyTrain(otherData, outDir, "--resume")), "data_train_sha256");
        Assert.That(Sha(best), Is.EqualTo(hash), "a refused run changed the best model");

        var forced = Harness(TinyTrain(data, outDir, "--resume", "--lr", "0.02", "--force"));
        Assert.That(forced.Code, Is.Zero, forced.Err);
        Assert.That(forced.Out, Does.Contain("--force: recomputing"));
        var resumed = Harness(TinyTrain(data, outDir, "--resume", "--lr", "0.02", "--epochs", "2"));
        Assert.That(resumed.Code, Is.Zero, resumed.Err);
        Assert.That(resumed.Out, Does.Contain("Resuming"));
    }

    [Test]
    public void ASecondRunIntoALockedFolderRefusesWithTheHoldersPidAndAStaleLockIsTakenOver()
    {
        string data = Data(), outDir = Directory.CreateDirectory(Path.Combine(Dir, "out")).FullName;
        using var holder = Process.Start(new ProcessStartInfo("sleep", "60"))!;
        try
        {
            File.WriteAllText(Path.Combine(outDir, OutputLock.FileName), holder.Id.ToString());
            AssertOneLineError(Harness(TinyTrain(data, outDir)), $"process {holder.Id}");
        }
        finally
        {
            holder.Kill();
            holder.WaitForExit();
        }
        var r = Harness(TinyTrain(data, outDir));
        Assert.That(r.Code, Is.Zero, r.Err);
        Assert.That(r.Out, Does.Contain("stale lock"));
        Assert.That(File.Exists(Path.Combine(outDir, OutputLock.FileName)), Is.False, "the lock is released after the run");
    }

    [Test]
    public void AHeadWhoseClassCountDiffersFromTheDataIsRefused()
    {
        string model = Path.Combine(Dir, "seven.pth");
        using (var m = EfficientNet.Create(EfficientNetConfig.Scaled(0.25, 0.34, 7))) ModelLoader.Save(m, model);
        AssertOneLineError(Harness("evaluate", "--weights", model, "--data", Data(), "--image-size", "32"), "7 classes but the data has 10");
    }

    [Test]
    public void ADivergingLossStopsTrainingWithAnErrorAndSavesNothing()
    {
        string outDir = Path.Combine(Dir, "out");
        var r = Harness(TinyTrain(Data(), outDir, "--lr", "1000", "--epochs", "2"));
        AssertOneLineError(r, "diverged");
        Assert.That(File.Exists(Path.Combine(outDir, "models", "efficientnet_b0_base.pth")), Is.False);
        Assert.That(Directory.GetDirectories(Path.Combine(outDir, "runs", "efficientnet_b0_base")), Is.Empty, "no state generation");
    }

    /// <summary>
    /// The same refusal in a process of its own, where stderr is the file descriptor native code writes to too: the
    /// one line is the only line (libtorch warned "Could not initialize NNPACK!" four times around it on a CPU NNPACK
    /// does not support: an evaluation of batch 32 asks NNPACK before each convolution oneDNN leaves).
    /// </summary>
    [Test]
    public void ADivergingTrainingInItsOwnProcessWritesOnlyItsErrorLineOnStderr()
    {
        string outDir = Path.Combine(Dir, "out");
        using var p = StartHarness(TinyTrain(Data(), outDir, "--lr", "1000", "--batch-size", "32", "--train-subset", "64", "--val-subset", "32"));
        var stdout = p.StandardOutput.ReadToEndAsync();
        string err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        AssertOneLineError((p.ExitCode, stdout.Result, err), "diverged");
    }

    /// <summary>SIGTERM (kill, scancel, a Slurm time limit) stops a run as Ctrl-C does: after its last saved step,
    /// exit 143, the lock released, no temporary file left in the output folder.</summary>
    [Test]
    public void SigtermStopsATrainingRunCleanly()
    {
        string outDir = Path.Combine(Dir, "out");
        using var p = StartHarness(TinyTrain(Data(), outDir, "--epochs", "200"));
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEndAsync();
        string state = Path.Combine(outDir, "runs", "efficientnet_b0_base", "state-0002");
        var wait = Stopwatch.StartNew();
        while (!p.HasExited && wait.Elapsed < TimeSpan.FromSeconds(120) && !Directory.Exists(state)) Thread.Sleep(50);
        Assert.That(p.HasExited, Is.False, () => "the run ended before its second epoch was saved: " + stderr.Result);
        Assert.That(SendSignal(p.Id, 15), Is.Zero, "kill(2)");
        Assert.That(p.WaitForExit(60_000), Is.True, "the run did not stop within a minute of SIGTERM");
        Assert.That(p.ExitCode, Is.EqualTo(143), stdout.Result + stderr.Result);
        Assert.That(stdout.Result, Does.Not.Contain("Epoch 200/"), "the run stopped early");
        Assert.That(File.Exists(Path.Combine(outDir, OutputLock.FileName)), Is.False, "the lock is released");
        var temporaries = Directory.EnumerateFileSystemEntries(outDir, "*", SearchOption.AllDirectories)
            .Where(f => global::Harness.Storage.Files.AtomicFile.IsTemporary(f)).ToList();
        Assert.That(temporaries, Is.Empty);
    }

    /// <summary>The command line in a process of its own (the <c>harness</c> program beside the tests), stdout and
    /// stderr redirected.</summary>
    private Process StartHarness(string[] args)
    {
        var start = new ProcessStartInfo(Path.Combine(AppContext.BaseDirectory, "harness"))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Dir,
        };
        foreach (var a in args) start.ArgumentList.Add(a);
        return Process.Start(start)!;
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill")]
    private static extern int SendSignal(int pid, int signal);
}
