using Harness.Cli.Commands;
using Harness.Tests.TestSupport;
using System.Text.Json;

namespace Harness.Tests.Unit.Cli;

/// <summary><c>prune channel --target-macs|--target-params</c>: the ratio used and the value reached are reported, the
/// value is at most the target; an unreachable target is one line naming the smallest reachable value.</summary>
public class BudgetCommandTests : TempDirectoryTest
{
    [Test]
    public void AParameterBudgetIsMetAndReported()
    {
        string outPath = Path.Combine(Dir, "b.pth");
        var (code, output, error) = HarnessCli.Run(PruneCommand.Create(), "prune", "channel", "--arch", "resnet18", "--target-params", "0.5", "--out", outPath, "--json");
        Assert.That(code, Is.EqualTo(0), error);
        var budget = JsonDocument.Parse(output).RootElement.GetProperty("budget");
        long target = budget.GetProperty("target").GetInt64(), achieved = budget.GetProperty("achieved").GetInt64();
        Assert.That(target, Is.EqualTo(11_181_642 / 2), "half of the 10-class ResNet-18's 11,181,642 parameters");
        Assert.That(achieved, Is.LessThanOrEqualTo(target));
        Assert.That(JsonDocument.Parse(output).RootElement.GetProperty("parametersAfter").GetInt64(), Is.EqualTo(achieved));
        Assert.That(budget.GetProperty("ratio").GetDouble(), Is.InRange(0.2, 0.4));
    }

    [Test]
    public void AnUnreachableBudgetIsOneLineNamingTheSmallestReachable()
    {
        var (code, _, error) = HarnessCli.Run(PruneCommand.Create(), "prune", "channel", "--arch", "resnet18", "--target-macs", "1K", "--image-size", "32",
            "--out", Path.Combine(Dir, "x.pth"));
        Assert.That(code, Is.EqualTo(2));
        Assert.That(error.Trim().Split('\n'), Has.Length.EqualTo(1));
        Assert.That(error, Does.StartWith("error: --target-macs 1,000 is unreachable: the smallest reachable is"));
        (code, _, error) = HarnessCli.Run(PruneCommand.Create(), "prune", "channel", "--arch", "resnet18", "--target-macs", "0.5", "--ratio", "0.3",
            "--out", Path.Combine(Dir, "y.pth"));
        Assert.That((code, error.Trim()), Is.EqualTo((2, "error: --ratio and a --target-… budget: give one (the budget chooses the ratio)")));
    }
}
