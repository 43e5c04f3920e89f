using Harness.Cli;
using Harness.Tests.TestSupport;
using System.Diagnostics;
using System.Text.Json.Nodes;

namespace Harness.Tests.Unit.Cli;

/// <summary>What lets a study run as separate processes (Slurm tasks) in one folder: <c>--plan</c>, <c>--only</c> with
/// per-experiment locks, and <c>report --out</c>, which refuses, naming them, experiments that are missing or made
/// with other settings.</summary>
public class RunAcrossProcessesTests : TempDirectoryTest
{
    private string[] Tiny(params string[] extra) =>
    [
        "study", "--data", StudyOptions.DemoData, "--arch", "resnet18", "--weights", "none", "--device", "cpu", "--image-size", "32",
        "--batch-size", "20", "--train-subset", "40", "--val-subset", "20", "--test-subset", "20", "--base-epochs", "1",
        "--fine-grained-epochs", "0", "--channel-epochs", "0", "--freeze", "none", "--latency-runs", "1", "--out", Path.Combine(Dir, "out"), .. extra,
    ];

    private static JsonArray Plan(string[] args)
    {
        var (code, output, error) = HarnessCli.Run([.. args, "--plan", "--json"]);
        Assert.That(code, Is.Zero, error);
        return JsonNode.Parse(output)!["experiments"]!.AsArray();
    }

    private static string State(JsonArray plan, string name) => plan.Single(e => e!["name"]!.GetValue<string>() == name)!["state"]!.ToString();

    [Test]
    public void ThePlanListsEachExperimentWithWhatItNeedsAndWhereItStandsAndTheReportNamesWhatIsMissing()
    {
        var plan = Plan(Tiny());
        Assert.That(plan.Select(e => e!["name"]!.GetValue<string>()), Is.EqualTo(new[]
            { "resnet18_base", "fine_grained_prune_0.2", "fine_grained_prune_0.5", "channel_pruning_0.2", "channel_pruning_0.8" }));
        Assert.That(plan[0]!["dependsOn"]!.AsArray(), Is.Empty);
        Assert.That(plan.Skip(1).Select(e => e!["dependsOn"]!.AsArray().Single()!.GetValue<string>()), Is.All.EqualTo("resnet18_base"));
        Assert.That(plan.Select(e => e!["state"]!.ToString()), Is.All.EqualTo("Pending"));
        Assert.That(plan[0]!["settings"]!.AsObject(), Has.Count.GreaterThan(5), "the manifest's settings");

        var (code, _, error) = HarnessCli.Run(Tiny("--only", "resnet18_base", "channel_pruning_0.8", "--no-report"));
        Assert.That(code, Is.Zero, error);
        Assert.That(File.Exists(Path.Combine(Dir, "out", "report.md")), Is.False, "--no-report");
        plan = Plan(Tiny());
        Assert.That((State(plan, "resnet18_base"), State(plan, "channel_pruning_0.8"), State(plan, "channel_pruning_0.2")),
            Is.EqualTo(("Finished", "Finished", "Pending")));
        Assert.That(Plan(Tiny("--lr", "0.02")).Select(e => e!["state"]!.ToString()), Has.Some.EqualTo("Differs"), "other settings");

        var refused = HarnessCli.Run("report", "--out", Path.Combine(Dir, "out"));
        Assert.That(refused.Code, Is.EqualTo(2));
        Assert.That(refused.Err.Trim().Split('\n'), Has.Length.EqualTo(1));
        Assert.That(refused.Err, Does.Contain("3 of 5 experiments").And.Contain("fine_grained_prune_0.2 (not run)").And.Contain("channel_pruning_0.2 (not run)")
            .And.Not.Contain("channel_pruning_0.8 ("));

        (code, _, error) = HarnessCli.Run(Tiny("--no-report"));
        Assert.That(code, Is.Zero, error);
        var report = HarnessCli.Run("report", "--out", Path.Combine(Dir, "out"));
        Assert.That(report.Code, Is.Zero, report.Err);
        Assert.That(File.ReadAllText(Path.Combine(Dir, "out", "report.md")), Does.Contain("| channel_pruning_0.2 |").And.Contain("| resnet18_base |"));

        var unknown = HarnessCli.Run(Tiny("--only", "channel_pruning_0.3"));
        Assert.That(unknown.Code, Is.EqualTo(2));
        Assert.That(unknown.Err, Does.Contain("--only channel_pruning_0.3: no such experiment"));
    }

    [Test]
    public void AnExperimentHeldByAnotherRunIsRefusedWhileAnotherExperimentOfTheFolderRuns()
    {
        string locks = Directory.CreateDirectory(Path.Combine(Dir, "out", "locks")).FullName;
        using var holder = Process.Start(new ProcessStartInfo("sleep", "60"))!;
        try
        {
            File.WriteAllText(Path.Combine(locks, "resnet18_base.lock"), $"{holder.Id}\n{Environment.MachineName}\n");
            var refused = HarnessCli.Run(Tiny("--only", "resnet18_base"));
            Assert.That(refused.Code, Is.Not.Zero);
            Assert.That(refused.Err, Does.Contain($"experiment resnet18_base of").And.Contain($"process {holder.Id}"));
            using (OutputLock.ForExperiment(Path.Combine(Dir, "out"), "channel_pruning_0.2", TextWriter.Null))
                Assert.That(File.Exists(Path.Combine(locks, "channel_pruning_0.2.lock")), Is.True, "a second experiment is locked beside the first");
            Assert.That(File.Exists(Path.Combine(locks, "channel_pruning_0.2.lock")), Is.False, "released");
        }
        finally
        {
            holder.Kill();
            holder.WaitForExit();
        }
        var taken = HarnessCli.Run(Tiny("--only", "resnet18_base"));
        Assert.That(taken.Code, Is.Zero, taken.Err);
        Assert.That(taken.Out, Does.Contain("stale lock"));
    }

    [Test]
    public void ADryRunPrintsTheSbatchLinesAndScriptsAndWritesNothing()
    {
        var (code, output, error) = HarnessCli.Run(["slurm", "submit", .. Tiny(), "--slurm-args", "-p gpu --gres=gpu:1 -c 8", "--harness", "/opt/h/harness", "--dry-run"]);
        Assert.That(code, Is.Zero, error);
        Assert.That(output, Does.Contain("# base (resnet18_base): sbatch -p gpu --gres=gpu:1 -c 8 "));
        Assert.That(output, Does.Contain("--array=0-3 '--dependency=afterok:<base job>'"));
        Assert.That(output, Does.Contain("'--dependency=afterany:<pruned job>'"));
        Assert.That(output, Does.Contain("/opt/h/harness study --config ").And.Contain("--only \"$name\" --no-report --threads \"$threads\""));
        Assert.That(output, Does.Contain("/opt/h/harness report --out "));
        Assert.That(Directory.Exists(Path.Combine(Dir, "out", "slurm")), Is.False, "a dry run writes nothing");
        var bad = HarnessCli.Run(["slurm", "submit", .. Tiny(), "--slurm-args", "--comment 'open", "--dry-run"]);
        Assert.That(bad.Code, Is.EqualTo(2));
        Assert.That(bad.Err, Does.Contain("--slurm-args").And.Contain("not closed"));
    }
}
