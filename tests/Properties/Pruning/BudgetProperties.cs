using FsCheck;
using FsCheck.Fluent;
using Harness.Metrics;
using Harness.Model;
using Harness.Model.Families;
using Harness.Model.Networks;
using Harness.Pruning.Channels;
using Harness.Tests.TestSupport;
using System.Text.Json;

namespace Harness.Tests.Properties.Pruning;

/// <summary>Pruning to a budget: for any reachable target the searched ratio's widths measure at most the target, and
/// a slightly smaller ratio measures more (the result is the tightest uniform ratio); an unreachable target is refused
/// naming the smallest reachable value; a fine-grained nonzero target is met exactly.</summary>
public class BudgetProperties : TempDirectoryTest
{
    private static long Macs(IPrunableNetwork n) => MacCounter.Count(n.Module, 32).Total(MacConvention.Thop);

    private static long Params(IPrunableNetwork n) => n.Module.parameters().Sum(p => p.numel());

    [TestCase("macs")]
    [TestCase("params")]
    public void TheSearchedRatioMeetsTheBoundTightly(string what)
    {
        using var model = new EfficientNet(EfficientNetWidths.FromConfig(EfficientNetConfig.Scaled(0.25, 0.34, 10)));
        Func<IPrunableNetwork, long> measure = what == "macs" ? Macs : Params;
        var options = new ChannelPruningOptions();
        long baseline = measure(model);
        var graph = DependencyGraph.Build(model);
        long At(double r)
        {
            using var n = model.Rebuild(ChannelPruner.PlannedWidths(graph, options with { Ratio = r, NeverUntouched = true }));
            return measure(n);
        }
        long smallest = At(1 - BudgetSearch.Resolution);
        Prop.ForAll(Gen.Choose(0, 1000).ToArbitrary(), permille =>
        {
            long target = smallest + (long)((baseline - smallest) * (permille / 1000.0));
            var result = BudgetSearch.ForTarget(model, options, target, measure, "--target");
            bool within = result.Achieved <= target && result.Achieved == At(result.Ratio) && result.Baseline == baseline;
            bool tight = result.Ratio == 0 || At(Math.Max(0, result.Ratio - 2 * BudgetSearch.Resolution)) > target;
            if (!(within && tight))
                TestContext.Out.WriteLine($"target {target} baseline {baseline} smallest {smallest}: ratio {result.Ratio} achieved {result.Achieved} at {At(result.Ratio)} base {result.Baseline} before {At(Math.Max(0, result.Ratio - 2 * BudgetSearch.Resolution))}");
            return within && tight;
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(12));
        var ex = Assert.Throws<ArgumentException>(() => BudgetSearch.ForTarget(model, options, smallest - 1, measure, "--target-x"));
        Assert.That(ex!.Message, Does.Contain("unreachable").And.Contain(smallest.ToString("N0", System.Globalization.CultureInfo.InvariantCulture)));
    }

    [TestCase("0.5", 1000, 500)]
    [TestCase("200M", 1_000_000_000, 200_000_000)]
    [TestCase("1.5K", 10_000, 1500)]
    [TestCase("12345", 100_000, 12345)]
    public void TargetsAreFractionsOrCounts(string text, long baseline, long expected) =>
        Assert.That(BudgetSearch.ParseTarget(text, baseline, "--t"), Is.EqualTo(expected));

    [Test]
    public void AFineGrainedNonzeroTargetIsMetExactly()
    {
        using (var m = ModelLoader.LoadNetwork("none", "resnet18")) ModelLoader.Save(m, Path.Combine(Dir, "r18.pth"));
        long total;
        using (var m = ModelLoader.LoadNetwork(Path.Combine(Dir, "r18.pth"))) total = ParameterCounter.Count(m.Module).Nonzero;
        int n = 0;
        Prop.ForAll(Gen.Choose(50, 1000).ToArbitrary(), permille =>
        {
            long target = total * permille / 1000;
            string outPath = Path.Combine(Dir, $"fg{n++}.pth");
            var stdout = new StringWriter();
            var stderr = new StringWriter();
            int code = Harness.Cli.CliRunner.Run(new System.CommandLine.RootCommand { Harness.Cli.Commands.PruneCommand.Create() },
                ["prune", "fine-grained", "--weights", Path.Combine(Dir, "r18.pth"), "--target-nonzero", target.ToString(System.Globalization.CultureInfo.InvariantCulture),
                 "--out", outPath, "--json"], stdout, stderr);
            if (code != 0) { TestContext.Out.WriteLine(stderr.ToString()); return false; }
            long achieved = JsonDocument.Parse(stdout.ToString()).RootElement.GetProperty("budget").GetProperty("achieved").GetInt64();
            using var pruned = ModelLoader.LoadNetwork(outPath);
            if (achieved != target) TestContext.Out.WriteLine($"target {target} achieved {achieved} file {ParameterCounter.Count(pruned.Module).Nonzero}");
            return achieved == target && ParameterCounter.Count(pruned.Module).Nonzero == target;
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(5));
    }
}
