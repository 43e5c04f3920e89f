using Harness.Cluster;
using Harness.Experiments;
using Harness.Tests.TestSupport;

namespace Harness.Tests.Unit.Cluster;

/// <summary>What <see cref="SlurmSubmitter"/> submits for each state of an output folder, and how it quotes and splits
/// words; no Slurm needed.</summary>
public class SlurmSubmitterTests : TempDirectoryTest
{
    private SlurmSubmitter Submitter(bool force = false) =>
        new(new RunRecord("study", Dir, new StudyConfig { Output = Path.Combine(Dir, "out") }), ["/opt/harness/harness"], ["-c", "4"], force);

    private static PlannedExperiment Planned(string name, ExperimentState state) =>
        new(name, name == "base" ? nameof(ExperimentKind.Base) : nameof(ExperimentKind.Channel), 0.5, 1,
            name == "base" ? [] : ["base"], state, name + ".pth", name + ".json", new Dictionary<string, string>());

    private static List<PlannedExperiment> Plan(ExperimentState baseState, params ExperimentState[] pruned) =>
        [Planned("base", baseState), .. pruned.Select((s, i) => Planned($"p{i}", s))];

    [Test]
    public void AFreshFolderSubmitsTheBaseThenTheArrayAfterItThenTheMerge()
    {
        var jobs = Submitter().Jobs(Plan(ExperimentState.Pending, ExperimentState.Pending, ExperimentState.Pending), reportExists: false);
        Assert.That(jobs.Select(j => (j.Key, j.After, j.AfterType)), Is.EqualTo(new (string, string?, string)[]
        {
            ("base", null, ""), ("pruned", "base", "afterok"), ("merge", "pruned", "afterany"),
        }));
        Assert.That(jobs[1].Experiments, Is.EqualTo(new[] { "p0", "p1" }));
        var args = Submitter().SbatchArguments(jobs[1], new Dictionary<string, string> { ["base"] = "17" });
        Assert.That(args, Is.EqualTo(new[] { "-c", "4", "--array=0-1", "--dependency=afterok:17", jobs[1].ScriptPath }));
        Assert.That(jobs[1].Script, Does.Contain("--only \"$name\" --no-report --threads \"$threads\"").And.Contain("names=(p0 p1)"));
    }

    [Test]
    public void AFinishedBaseIsNotResubmittedAndOnlyUnfinishedPrunedExperimentsRun()
    {
        var jobs = Submitter().Jobs(Plan(ExperimentState.Finished, ExperimentState.Finished, ExperimentState.Resumable, ExperimentState.Pending), reportExists: false);
        Assert.That(jobs.Select(j => j.Key), Is.EqualTo(new[] { "pruned", "merge" }));
        Assert.That(jobs[0].Experiments, Is.EqualTo(new[] { "p1", "p2" }));
        Assert.That(jobs[0].After, Is.Null, "nothing to wait for");
    }

    [Test]
    public void AnUnfinishedBaseMakesEveryPrunedExperimentAgain()
    {
        var jobs = Submitter().Jobs(Plan(ExperimentState.Resumable, ExperimentState.Finished, ExperimentState.Finished), reportExists: true);
        Assert.That(jobs.Select(j => j.Key), Is.EqualTo(new[] { "base", "pruned", "merge" }));
        Assert.That(jobs[1].Experiments, Is.EqualTo(new[] { "p0", "p1" }));
    }

    [Test]
    public void AFinishedFolderSubmitsOnlyAMissingReportAndNothingOnceItIsWritten()
    {
        var plan = Plan(ExperimentState.Finished, ExperimentState.Finished);
        Assert.That(Submitter().Jobs(plan, reportExists: false).Select(j => (j.Key, j.After)), Is.EqualTo(new (string, string?)[] { ("merge", null) }));
        Assert.That(Submitter().Jobs(plan, reportExists: true), Is.Empty);
    }

    [Test]
    public void ExperimentsMadeWithOtherSettingsAreRefusedUnlessForced()
    {
        var plan = Plan(ExperimentState.Finished, ExperimentState.Differs);
        var ex = Assert.Throws<ArgumentException>(() => Submitter().Jobs(plan, reportExists: true));
        Assert.That(ex!.Message, Does.Contain("p0").And.Contain("--force"));
        var jobs = Submitter(force: true).Jobs(plan, reportExists: true);
        Assert.That(jobs[0].Experiments, Is.EqualTo(new[] { "p0" }));
        Assert.That(jobs[0].Script, Does.Contain("--force"));
    }

    [TestCase("", new string[0])]
    [TestCase("-p gpu --time 4:00:00", new[] { "-p", "gpu", "--time", "4:00:00" })]
    [TestCase("--comment 'two words' --mem=\"8 G\"", new[] { "--comment", "two words", "--mem=8 G" })]
    [TestCase("  --x ''  ", new[] { "--x", "" })]
    public void SlurmArgumentsSplitAsAShellWould(string text, string[] expected) =>
        Assert.That(SlurmSubmitter.SplitArguments(text), Is.EqualTo(expected));

    [Test]
    public void AnUnclosedQuoteIsAnError() =>
        Assert.That(() => SlurmSubmitter.SplitArguments("--comment 'open"), Throws.ArgumentException.With.Message.Contain("not closed"));

    [Test]
    public void QuotedWordsSurviveBashUnchanged()
    {
        var words = new[] { "plain/path.json", "with space", "it's", "$HOME", "a\"b", "", "semi;colon", "*" };
        var script = Path.Combine(Dir, "echo.sh");
        File.WriteAllText(script, "printf '%s\\n' " + string.Join(" ", words.Select(SlurmSubmitter.Quote)) + "\n");
        var (code, output) = SlurmCluster.Run("bash", script);
        Assert.That(code, Is.Zero, output);
        Assert.That(output.Split('\n')[..words.Length], Is.EqualTo(words));
    }

    /// <summary>A task Harness stopped on a signal kept its last saved epoch and is named as stopped, not failed; any
    /// other non-zero exit is a failure with its code.</summary>
    [TestCase(143, "was stopped by SIGTERM (scancel or the job's time limit) after its last saved epoch; submit again to resume it")]
    [TestCase(130, "was stopped by SIGINT after its last saved epoch")]
    [TestCase(1, "failed with exit code 1")]
    [TestCase(137, "failed with exit code 137")]
    [TestCase(0, "ended without results")]
    public void ATasksEndIsDescribedByItsExitCode(int exit, string says)
    {
        string text = SlurmStatus.Describe(exit, "812", "/x/logs/base-812.out");
        Assert.That(text, Does.StartWith("its Slurm job 812 ").And.Contain(says).And.EndWith("; log /x/logs/base-812.out"));
    }
}
