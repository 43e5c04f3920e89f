using Harness.Cli;
using Harness.Cli.Commands;
using Harness.Storage.Checkpoints;
using Harness.Tests.TestSupport;
using System.CommandLine;
using System.Text.Json;

namespace Harness.Tests.Unit.Cli;

/// <summary>One vocabulary across commands (issue 16, rules 1–2): the same idea has the same option name and
/// default everywhere, every option says what it does and what it defaults to, unknown layer names are refused, and
/// <c>--json</c> prints exactly one JSON document on stdout.</summary>
public class VocabularyTests : TempDirectoryTest
{
    private static IEnumerable<(string Path, Command Command)> Leaves(Command c, string prefix = "")
    {
        string path = (prefix + " " + c.Name).Trim();
        if (c.Subcommands.Count == 0) yield return (path, c);
        foreach (var s in c.Subcommands)
            foreach (var leaf in Leaves(s, path)) yield return leaf;
    }

    private static IEnumerable<(string Path, Command Command)> AllCommands() => CommandCatalog.All().SelectMany(c => Leaves(c));

    private static Option? Find(Command c, string name) =>
        c.Options.FirstOrDefault(o => o.Name == name || o.Aliases.Contains(name));

    [Test]
    public void EveryOptionHasADescriptionAndStatesItsDefault()
    {
        var missing = new List<string>();
        foreach (var (path, command) in AllCommands())
            foreach (var o in command.Options)
            {
                if (o.Name is "--help" or "-h" or "-?") continue;
                bool flag = o.ValueType == typeof(bool);
                bool statesDefault = o.HasDefaultValue || o.Required || flag
                                     || (o.Description ?? "").Contains("default", StringComparison.OrdinalIgnoreCase);
                if (string.IsNullOrWhiteSpace(o.Description) || !statesDefault) missing.Add($"{path} {o.Name}");
            }
        Assert.That(missing, Is.Empty, "options without a description or a stated default");
    }

    [Test]
    public void EveryComputingCommandTakesMemoryFormatAndAnUnknownFormatIsOneLineExit2()
    {
        foreach (var (path, command) in AllCommands().Where(c => !c.Path.StartsWith("cache", StringComparison.Ordinal) && !c.Path.StartsWith("slurm", StringComparison.Ordinal)))
            Assert.That(Find(command, "--memory-format"), Is.Not.Null, path);
        var root = new RootCommand();
        foreach (var c in CommandCatalog.All()) root.Subcommands.Add(c);
        var output = new StringWriter();
        var error = new StringWriter();
        int code = CliRunner.Run(root, ["summary", "--weights", "none", "--memory-format", "nhwc"], output, error);
        Assert.That(code, Is.EqualTo(2));
        Assert.That(error.ToString().Trim().Split('\n'), Has.Length.EqualTo(1));
        Assert.That(error.ToString(), Does.Contain("--memory-format").Or.Contain("nhwc"));
        // A valid choice runs, and the next invocation without the option is back to auto.
        Assert.That(CliRunner.Run(root, ["summary", "--weights", "none", "--memory-format", "contiguous"], output, error), Is.EqualTo(0), error.ToString());
        Assert.That(CliRunner.Run(root, ["summary", "--weights", "none"], output, error), Is.EqualTo(0), error.ToString());
        Assert.That(Harness.Runtime.MemoryLayout.Preferred, Is.EqualTo(Harness.Runtime.MemoryFormat.Auto));
    }

    [Test]
    public void TheSameIdeaHasTheSameNameInEveryCommand()
    {
        var commands = AllCommands().ToDictionary(c => c.Path, c => c.Command);
        // The pruned fraction is --ratio (sweep: --ratios); fine-grained keeps --amount as an alias.
        Assert.That(Find(commands["prune fine-grained"], "--ratio"), Is.Not.Null);
        Assert.That(Find(commands["prune fine-grained"], "--amount"), Is.SameAs(Find(commands["prune fine-grained"], "--ratio")));
        Assert.That(Find(commands["prune channel"], "--ratio"), Is.Not.Null);
        Assert.That(Find(commands["sweep"], "--ratios"), Is.Not.Null);
        // Timed passes are --runs wherever something is timed.
        foreach (var path in new[] { "metrics", "study", "sweep", "bench prune", "bench onnx", "bench compare" })
            Assert.That(Find(commands[path], "--runs"), Is.Not.Null, path);
        Assert.That(Find(commands["study"], "--latency-runs"), Is.SameAs(Find(commands["study"], "--runs")), "the old name stays an alias");
        // Epochs: --epochs for train, the experiment-kind prefix in study and sweep alike.
        foreach (var path in new[] { "study", "sweep" })
        {
            foreach (var name in new[] { "--base-epochs", "--fine-grained-epochs", "--channel-epochs" })
                Assert.That(Find(commands[path], name), Is.Not.Null, $"{path} {name}");
            Assert.That(Find(commands[path], "--epochs"), Is.Null, path);
        }
        // --method is the fine-grained pruning method only; the sweep chooses its pruning kinds with --pruning.
        Assert.That(Find(commands["sweep"], "--method"), Is.Null);
        Assert.That(Find(commands["sweep"], "--pruning"), Is.Not.Null);
        // One layer-selection pair for both pruning kinds (--ignore stays an alias of --exclude).
        foreach (var path in new[] { "prune fine-grained", "prune channel" })
        {
            Assert.That(Find(commands[path], "--include"), Is.Not.Null, path);
            Assert.That(Find(commands[path], "--exclude"), Is.Not.Null, path);
        }
        Assert.That(Find(commands["prune channel"], "--ignore"), Is.SameAs(Find(commands["prune channel"], "--exclude")));
        // Options that would do nothing are not offered.
        Assert.That(Find(commands["train"], "--test-subset"), Is.Null);
        Assert.That(Find(commands["evaluate"], "--train-subset"), Is.Null);
        Assert.That(Find(commands["evaluate"], "--val-subset"), Is.Null);
    }

    [Test]
    public void WeightsDefaultToNoneWhereACommandRunsOfflineAndAreRequiredWhereATrainedModelIsNeeded()
    {
        foreach (var (path, command) in AllCommands())
        {
            if (Find(command, "--weights") is not Option<string> weights) continue;
            if (path is "evaluate" or "predict" or "export onnx" or "sensitivity")
                Assert.That(weights.Required, Is.True, path);
            else if (path is "study" or "sweep" or "slurm submit study" or "slurm submit sweep") // unset options keep the configuration's value; its default is stated
                Assert.That(weights.Description, Does.EndWith("(default: none)"), path);
            else
                Assert.That(weights.HasDefaultValue ? weights.GetDefaultValue() : "(no default)", Is.EqualTo("none"), path);
        }
        var (code, output, _) = HarnessCli.Run(StudyCommand.Create(), "study", "--print-config");
        Assert.That(code, Is.EqualTo(0));
        Assert.That(JsonDocument.Parse(output).RootElement.GetProperty("weights").GetString(), Is.EqualTo("none"));
    }

    [Test]
    public void OfflineImagenetNamesTheFileTheCachePathAndTheWayOut()
    {
        var resolver = new WeightsResolver { CacheDirectory = Dir, BaseUrl = "http://127.0.0.1:9/" };
        var ex = Assert.Throws<IOException>(() => resolver.Resolve("imagenet"));
        Assert.That(ex!.Message, Does.StartWith("--weights imagenet").And.Contain(Path.Combine(Dir, WeightsResolver.ImageNetFileName))
            .And.Contain("--weights none"));
    }

    [TestCase("--latency-runs")]
    [TestCase("--runs")]
    public void StudyAndSweepReadTheSameEpochAndRunOptions(string runs)
    {
        var (code, output, error) = HarnessCli.Run(StudyCommand.Create(), "study", runs, "7", "--fine-grained-epochs", "2", "--channel-epochs", "4", "--print-config");
        Assert.That(code, Is.EqualTo(0), error);
        var study = JsonDocument.Parse(output).RootElement;
        Assert.That((study.GetProperty("latencyRuns").GetInt32(), study.GetProperty("fineGrainedEpochs").GetInt32(), study.GetProperty("channelEpochs").GetInt32()), Is.EqualTo((7, 2, 4)));
        (code, output, error) = HarnessCli.Run(SweepCommand.Create(), "sweep", runs, "7", "--channel-epochs", "4", "--pruning", "channel", "--print-config");
        Assert.That(code, Is.EqualTo(0), error);
        var sweep = JsonDocument.Parse(output).RootElement;
        Assert.That((sweep.GetProperty("latencyRuns").GetInt32(), sweep.GetProperty("fineGrainedEpochs").GetInt32(), sweep.GetProperty("channelEpochs").GetInt32()), Is.EqualTo((7, 0, 4)));
        Assert.That(sweep.GetProperty("fineGrainedAmounts").GetArrayLength(), Is.Zero, "--pruning channel sweeps channel pruning only");
    }

    [TestCase("fine-grained", "--include", "features.99")]
    [TestCase("fine-grained", "--exclude", "classifer.1")]
    [TestCase("channel", "--exclude", "features.99.0")]
    [TestCase("channel", "--ignore", "layer5")]
    [TestCase("channel", "--include", "([")]
    public void ALayerPatternThatNamesNoLayerIsRefusedInOneLine(string kind, string option, string pattern)
    {
        string outPath = Path.Combine(Dir, "pruned.pth");
        var (code, _, error) = HarnessCli.Run(PruneCommand.Create(), "prune", kind, "--arch", "resnet18", option, pattern, "--out", outPath);
        Assert.That(code, Is.EqualTo(2), error);
        Assert.That(error.Trim().Split('\n'), Has.Length.EqualTo(1));
        Assert.That(error, Does.Contain(pattern));
        Assert.That(File.Exists(outPath), Is.False, "nothing is written");
    }

    [Test]
    public void IncludeAndExcludeChooseTheLayersOfBothPruningKinds()
    {
        string fg = Path.Combine(Dir, "fg.pth");
        var (code, output, error) = HarnessCli.Run(PruneCommand.Create(), "prune", "fine-grained", "--arch", "resnet18", "--include", "^layer4\\.",
            "--exclude", "layer4.1.conv2", "--ratio", "0.5", "--out", fg, "--json");
        Assert.That(code, Is.EqualTo(0), error);
        var layers = JsonDocument.Parse(output).RootElement.GetProperty("layers").EnumerateArray().Select(l => l.GetProperty("name").GetString()).ToList();
        Assert.That(layers, Has.All.StartWith("layer4."));
        Assert.That(layers, Does.Contain("layer4.0.downsample.0").And.Not.Contain("layer4.1.conv2"));

        string ch = Path.Combine(Dir, "ch.pth");
        (code, output, error) = HarnessCli.Run(PruneCommand.Create(), "prune", "channel", "--arch", "resnet18", "--exclude", "layer1", "--ratio", "0.5", "--out", ch, "--json");
        Assert.That(code, Is.EqualTo(0), error);
        using var pruned = Harness.Model.ModelLoader.LoadNetwork(ch);
        var widths = pruned.PrunableLayers().ToDictionary(l => l.Name, l => l.Layer.Weight.shape[0]);
        Assert.That(widths["layer1.0.conv1"], Is.EqualTo(64), "an excluded layer keeps its channels");
        Assert.That(widths["layer4.0.conv1"], Is.LessThan(512), "the others are pruned");
    }

    private static void AssertOneJsonDocument(string stdout, string what)
    {
        Assert.That(stdout.Trim(), Does.StartWith("{").Or.StartWith("["), what);
        Assert.DoesNotThrow(() => JsonDocument.Parse(stdout).Dispose(), $"{what}: stdout is not exactly one JSON document:\n{stdout}");
    }

    [Test]
    public void JsonPrintsExactlyOneDocumentOnStdout()
    {
        AssertOneJsonDocument(HarnessCli.Run(SummaryCommand.Create(), "summary", "--arch", "mobilenet_v2", "--json").Out, "summary");
        var metrics = HarnessCli.Run(MetricsCommand.Create(), "metrics", "--arch", "resnet18", "--image-size", "32", "--runs", "1", "--out", Path.Combine(Dir, "m"), "--json");
        AssertOneJsonDocument(metrics.Out, "metrics");
        Assert.That(JsonDocument.Parse(metrics.Out).RootElement.ValueKind, Is.EqualTo(JsonValueKind.Array), "metrics --json prints the list its file holds");
        Assert.That(metrics.Out, Is.EqualTo(File.ReadAllText(Path.Combine(Dir, "m", "resnet18_none_metrics.json"))));
        AssertOneJsonDocument(HarnessCli.Run(PruneCommand.Create(), "prune", "channel", "--arch", "resnet18", "--out", Path.Combine(Dir, "c.pth"), "--json").Out, "prune channel");
        AssertOneJsonDocument(HarnessCli.Run(PruneCommand.Create(), "prune", "fine-grained", "--arch", "resnet18", "--out", Path.Combine(Dir, "f.pth"), "--json").Out, "prune fine-grained");
        AssertOneJsonDocument(HarnessCli.Run(BenchCommand.Create(), "bench", "data", "--arch", "resnet18", "--sizes", "32", "--steps", "1", "--batch-size", "4", "--json").Out, "bench data");

        string data = SyntheticCifar.WriteBinary(Path.Combine(Dir, "data"), 8, 8);
        var train = HarnessCli.Run(TrainCommand.Create(), "train", "--arch", "resnet18", "--data", data, "--image-size", "32", "--batch-size", "8",
            "--epochs", "1", "--out", Path.Combine(Dir, "t"), "--json");
        Assert.That(train.Code, Is.EqualTo(0), train.Err);
        AssertOneJsonDocument(train.Out, "train");
        Assert.That(train.Err, Does.Contain("data:"), "what train says on the way goes to stderr");
        var evaluate = HarnessCli.Run(EvaluateCommand.Create(), "evaluate", "--weights", Path.Combine(Dir, "t", "models", "resnet18_base.pth"), "--data", data,
            "--image-size", "32", "--json");
        Assert.That(evaluate.Code, Is.EqualTo(0), evaluate.Err);
        AssertOneJsonDocument(evaluate.Out, "evaluate");
    }

    [Test]
    public void SummaryJsonShapesAreArraysOfIntegers()
    {
        var (_, output, _) = HarnessCli.Run(SummaryCommand.Create(), "summary", "--json");
        var first = JsonDocument.Parse(output).RootElement.GetProperty("layers")[0];
        Assert.That(first.GetProperty("weightShape").EnumerateArray().Select(e => e.GetInt64()), Is.EqualTo(new long[] { 32, 3, 3, 3 }));
        Assert.That(first.TryGetProperty("shapeText", out _), Is.False);
    }
}
