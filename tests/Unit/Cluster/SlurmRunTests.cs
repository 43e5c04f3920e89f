using Harness.Tests.TestSupport;
using System.Text.Json.Nodes;

namespace Harness.Tests.Unit.Cluster;

/// <summary>
/// <c>harness slurm submit</c> on a real single-node Slurm (<c>scripts/slurm-local.sh start</c>; skipped where none
/// answers): a study or sweep run as jobs gives what one process gives — the same pruned tensors (byte-identical
/// checkpoints), the same metrics files apart from timings and the same report rows — and its failures behave as a
/// cluster user expects. The jobs and the one-process run use one libtorch thread each, so that their arithmetic is
/// the same. One case runs by default; the rest with <c>--filter Category=Slurm</c>.
/// </summary>
public class SlurmRunTests : TempDirectoryTest
{
    private static readonly TimeSpan JobTimeout = TimeSpan.FromMinutes(8);

    private static string[] Tiny(string output, int baseEpochs = 1, int trainSubset = 60) =>
    [
        "--data", Harness.Cli.StudyOptions.DemoData, "--arch", "resnet18", "--weights", "none", "--device", "cpu",
        "--image-size", "32", "--batch-size", "20", "--train-subset", trainSubset.ToString(System.Globalization.CultureInfo.InvariantCulture),
        "--val-subset", "20", "--test-subset", "40", "--base-epochs", baseEpochs.ToString(System.Globalization.CultureInfo.InvariantCulture),
        // The pruned models fine-tune at a tenth of the rate: a network of a fifth of the widths from scratch can
        // diverge at 0.01 on 60 images.
        "--lr-step", "1", "--fine-tune-lr", "0.001", "--freeze", "none", "--latency-runs", "2", "--out", output,
    ];

    /// <summary>The program in this process with one libtorch thread (restored afterwards).</summary>
    private static (int Code, string Out, string Err) OneProcess(params string[] args)
    {
        int threads = TorchSharp.torch.get_num_threads();
        try
        {
            return HarnessCli.Run([.. args, "--threads", "1"]);
        }
        finally
        {
            TorchSharp.torch.set_num_threads(threads);
        }
    }

    /// <summary>Submits, returns the job ids printed by <c>--json</c>.</summary>
    private static List<(string Key, string Job)> Submit(params string[] args)
    {
        var (code, output, error) = HarnessCli.Run(["slurm", "submit", .. args, "--json"]);
        Assert.That(code, Is.Zero, error);
        var submitted = JsonNode.Parse(output)!["submitted"]!.AsArray();
        return submitted.Select(j => (j!["key"]!.GetValue<string>(), j["job"]!.GetValue<string>())).ToList();
    }

    private static void WaitFor(IEnumerable<(string Key, string Job)> jobs) => SlurmCluster.WaitFor(jobs.Select(j => j.Job), JobTimeout);

    [Test]
    public void AStudyAsSlurmJobsEqualsTheOneProcessRunAndASecondSubmissionSubmitsNothing()
    {
        SlurmCluster.Require();
        string local = Path.Combine(Dir, "local"), cluster = Path.Combine(Dir, "cluster");
        var jobs = Submit(["study", .. Tiny(cluster), "--slurm-args", "-c 1"]);
        Assert.That(jobs.Select(j => j.Key), Is.EqualTo(new[] { "base", "pruned", "merge" }));
        var (code, _, error) = OneProcess(["study", .. Tiny(local)]);
        Assert.That(code, Is.Zero, error);
        WaitFor(jobs);
        Assert.That(SlurmCluster.StateOf(jobs[2].Job), Is.EqualTo("COMPLETED"), Logs(cluster));
        AssertSameResults(local, cluster);
        Assert.That(Submit(["study", .. Tiny(cluster)]), Is.Empty, "a finished study submits nothing");
    }

    [Test, Category("Slurm"), Explicit("a real Slurm cluster: --filter Category=Slurm")]
    public void ASweepOfFourPointsAsSlurmJobsEqualsTheOneProcessSweep()
    {
        SlurmCluster.Require();
        string local = Path.Combine(Dir, "local"), cluster = Path.Combine(Dir, "cluster");
        string[] sweep = ["--pruning", "fine-grained,channel", "--ratios", "0.3,0.6", "--fine-grained-epochs", "1", "--channel-epochs", "1"];
        var jobs = Submit(["sweep", .. Tiny(cluster), .. sweep, "--slurm-args", "-c 1"]);
        Assert.That(jobs.Select(j => j.Key), Is.EqualTo(new[] { "base", "pruned", "merge" }));
        var (code, _, error) = OneProcess(["sweep", .. Tiny(local), .. sweep]);
        Assert.That(code, Is.Zero, error);
        WaitFor(jobs);
        Assert.That(SlurmCluster.StateOf(jobs[2].Job), Is.EqualTo("COMPLETED"), Logs(cluster));
        AssertSameResults(local, cluster);
        Assert.That(CsvWithoutTimings(cluster), Is.EqualTo(CsvWithoutTimings(local)));
        Assert.That(CsvWithoutTimings(cluster), Has.Count.EqualTo(6), "header, base and four points");
    }

    [Test, Category("Slurm"), Explicit("a real Slurm cluster: --filter Category=Slurm")]
    public void ATaskCancelledMidRunResumesWhenResubmittedAndReachesTheSameResult()
    {
        SlurmCluster.Require();
        string local = Path.Combine(Dir, "local"), cluster = Path.Combine(Dir, "cluster");
        string[] args = Tiny(cluster, baseEpochs: 4, trainSubset: 1350);
        var jobs = Submit(["study", .. args, "--slurm-args", "-c 1"]);
        // Cancel the base job once it has completed an epoch and is inside the next.
        string epochs = Path.Combine(cluster, "runs", "resnet18_base");
        var sw = System.Diagnostics.Stopwatch.StartNew();
        while (!CompletedEpoch(epochs) && sw.Elapsed < JobTimeout) Thread.Sleep(200);
        Assert.That(CompletedEpoch(epochs), Is.True, "the base job completed an epoch: " + Logs(cluster));
        Assert.That(SlurmCluster.Run("scancel", jobs[0].Job).Code, Is.Zero);
        WaitFor(jobs);
        Assert.That(File.Exists(Path.Combine(cluster, "metrics", "resnet18_base.json")), Is.False, "cancelled before the end: " + Logs(cluster));
        Assert.That(SlurmCluster.StateOf(jobs[1].Job), Is.EqualTo("CANCELLED"), "the array waits for a base that completes");
        var status = File.ReadAllText(Path.Combine(cluster, "slurm", "status", "resnet18_base"));
        Assert.That(status, Does.Not.StartWith("exit 0"), "the cancelled task recorded its end");

        var again = Submit(["study", .. args, "--slurm-args", "-c 1"]);
        Assert.That(again.Select(j => j.Key), Is.EqualTo(new[] { "base", "pruned", "merge" }));
        var (code, _, error) = OneProcess(["study", .. Tiny(local, baseEpochs: 4, trainSubset: 1350)]);
        Assert.That(code, Is.Zero, error);
        WaitFor(again);
        string baseLog = File.ReadAllText(Directory.GetFiles(Path.Combine(cluster, "slurm", "logs"), $"base-{again[0].Job}.out").Single());
        Assert.That(baseLog, Does.Contain("resum").IgnoreCase, "the resubmitted base resumed from its completed epochs");
        AssertSameResults(local, cluster);
    }

    [Test, Category("Slurm"), Explicit("a real Slurm cluster: --filter Category=Slurm")]
    public void AFailedBaseCancelsTheArrayTheMergeNamesItAndAResubmissionRunsWhatIsMissing()
    {
        SlurmCluster.Require();
        string cluster = Path.Combine(Dir, "cluster");
        Directory.CreateDirectory(cluster);
        // A file where the base model's folder belongs: the base job fails when it saves its model.
        File.WriteAllText(Path.Combine(cluster, "models"), "not a folder");
        var jobs = Submit(["study", .. Tiny(cluster), "--slurm-args", "-c 1"]);
        WaitFor(jobs);
        Assert.That(SlurmCluster.StateOf(jobs[0].Job), Is.EqualTo("FAILED"));
        string merge = File.ReadAllText(Path.Combine(cluster, "slurm", "logs", $"merge-{jobs[2].Job}.out"));
        Assert.That(merge, Does.Contain($"resnet18_base (its Slurm job {jobs[0].Job} failed with exit code"));
        Assert.That(merge, Does.Contain($"channel_pruning_0.8 (not run: resnet18_base failed (Slurm job {jobs[0].Job}"));
        Assert.That(Directory.Exists(Path.Combine(cluster, "pruned_models")) && Directory.EnumerateFiles(Path.Combine(cluster, "pruned_models")).Any(), Is.False,
            "the array never ran");
        Assert.That(File.Exists(Path.Combine(cluster, "report.md")), Is.False);

        File.Delete(Path.Combine(cluster, "models"));
        var again = Submit(["study", .. Tiny(cluster)]);
        Assert.That(again.Select(j => j.Key), Is.EqualTo(new[] { "base", "pruned", "merge" }));
        WaitFor(again);
        Assert.That(SlurmCluster.StateOf(again[2].Job), Is.EqualTo("COMPLETED"), Logs(cluster));
        Assert.That(File.ReadAllText(Path.Combine(cluster, "report.md")), Does.Contain("| channel_pruning_0.8 |"));
    }

    /// <summary>Whether the run has saved the state of a completed epoch (<c>state-NNNN/</c>).</summary>
    private static bool CompletedEpoch(string runFolder) =>
        Directory.Exists(runFolder) && Directory.EnumerateDirectories(runFolder, "state-*").Any();

    private static string Logs(string root)
    {
        string folder = Path.Combine(root, "slurm", "logs");
        if (!Directory.Exists(folder)) return "no logs";
        return string.Join("\n", Directory.GetFiles(folder).Order().Select(f => $"== {Path.GetFileName(f)}\n{string.Join("\n", File.ReadLines(f).Where(l => !l.Contains("NNPACK")).TakeLast(15))}"));
    }

    /// <summary>Every metrics file equal apart from measured times and resident memory, every model and pruned
    /// checkpoint's tensors and metadata byte-identical (all but PyTorch's random serialization id), and report.md's rows equal in every column that is not a timing.</summary>
    private static void AssertSameResults(string local, string cluster)
    {
        var names = Directory.GetFiles(Path.Combine(local, "metrics"), "*.json").Select(Path.GetFileName).Order().ToList();
        Assert.That(names, Has.Count.GreaterThanOrEqualTo(5));
        Assert.That(Directory.GetFiles(Path.Combine(cluster, "metrics"), "*.json").Select(Path.GetFileName).Order(), Is.EqualTo(names));
        foreach (var name in names)
        {
            var a = WithoutTimings(JsonNode.Parse(File.ReadAllText(Path.Combine(local, "metrics", name!))));
            var b = WithoutTimings(JsonNode.Parse(File.ReadAllText(Path.Combine(cluster, "metrics", name!))));
            Assert.That(b!.ToJsonString(), Is.EqualTo(a!.ToJsonString()), name);
        }
        foreach (var folder in new[] { "models", "pruned_models" })
        {
            var files = Directory.GetFiles(Path.Combine(local, folder), "*.pth").Select(Path.GetFileName).Order().ToList();
            Assert.That(Directory.GetFiles(Path.Combine(cluster, folder), "*.pth").Select(Path.GetFileName).Order(), Is.EqualTo(files), folder);
            foreach (var f in files)
            {
                var expected = Entries(Path.Combine(local, folder, f!));
                var actual = Entries(Path.Combine(cluster, folder, f!));
                Assert.That(actual.Keys, Is.EqualTo(expected.Keys), $"{folder}/{f}");
                foreach (var (entry, bytes) in expected)
                    Assert.That(actual[entry], Is.EqualTo(bytes), $"{folder}/{f}: {entry}");
            }
        }
        Assert.That(ReportRows(cluster), Is.EqualTo(ReportRows(local)));
    }

    /// <summary>A checkpoint's archive entries (tensor data, pickled structure, Harness's metadata) but its random
    /// <c>.data/serialization_id</c>, which PyTorch's format draws anew at every save.</summary>
    private static SortedDictionary<string, byte[]> Entries(string checkpoint)
    {
        using var zip = System.IO.Compression.ZipFile.OpenRead(checkpoint);
        var entries = new SortedDictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var e in zip.Entries.Where(e => !e.FullName.EndsWith("/.data/serialization_id", StringComparison.Ordinal)))
        {
            using var stream = e.Open();
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            entries[e.FullName] = copy.ToArray();
        }
        Assert.That(entries.Keys.Count(k => k.Contains("/data/", StringComparison.Ordinal)), Is.GreaterThan(0), $"{checkpoint} holds tensors");
        return entries;
    }

    private static readonly string[] TimingSuffixes = ["Ms", "MsPerImage", "Seconds"];

    private static JsonNode? WithoutTimings(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var key in o.Select(p => p.Key).ToList())
                {
                    if (TimingSuffixes.Any(s => key.EndsWith(s, StringComparison.Ordinal)) || key.StartsWith("resident", StringComparison.Ordinal))
                        o.Remove(key);
                    else WithoutTimings(o[key]);
                }
                break;
            case JsonArray a:
                foreach (var item in a) WithoutTimings(item);
                break;
        }
        return node;
    }

    /// <summary>report.md's first table, without its timing and resident-memory columns.</summary>
    private static List<string> ReportRows(string root)
    {
        var lines = File.ReadAllLines(Path.Combine(root, "report.md")).SkipWhile(l => !l.StartsWith("| Model", StringComparison.Ordinal))
            .TakeWhile(l => l.StartsWith('|')).ToList();
        Assert.That(lines, Has.Count.GreaterThanOrEqualTo(7), "report.md has its table");
        var header = Cells(lines[0]);
        var keep = header.Select((h, i) => (h, i)).Where(c => !System.Text.RegularExpressions.Regex.IsMatch(c.h, @"\bms\b") && !c.h.Contains("RSS", StringComparison.Ordinal))
            .Select(c => c.i).ToList();
        return lines.Select(l => string.Join(" | ", keep.Select(i => Cells(l)[i]))).ToList();
    }

    private static string[] Cells(string row) => row.Trim('|').Split('|', StringSplitOptions.TrimEntries);

    /// <summary>sweep.csv without its latency columns.</summary>
    private static List<string> CsvWithoutTimings(string root)
    {
        var lines = File.ReadAllLines(Path.Combine(root, "sweep.csv")).Where(l => l.Length > 0).ToList();
        var keep = lines[0].Split(',').Select((h, i) => (h, i)).Where(c => !c.h.EndsWith("_ms", StringComparison.Ordinal)).Select(c => c.i).ToList();
        return lines.Select(l => string.Join(",", keep.Select(i => l.Split(',')[i]))).ToList();
    }
}
