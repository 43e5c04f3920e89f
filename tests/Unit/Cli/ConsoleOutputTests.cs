using Harness.Cli.Commands;
using Harness.Tests.TestSupport;
using System.Text.Json;

namespace Harness.Tests.Unit.Cli;

/// <summary>What a person reads on the console: a channel-pruning report is one line per group (the removed indices
/// stay in the JSON), and the metrics of one model read as metric/value rows that fit a terminal.</summary>
public class ConsoleOutputTests : TempDirectoryTest
{
    [Test]
    public void PruneChannelPrintsOneLinePerGroupAndKeepsTheRemovedIndicesInTheJson()
    {
        string path = Path.Combine(Dir, "c.pth");
        var (code, output, error) = HarnessCli.Run(PruneCommand.Create(), "prune", "channel", "--arch", "resnet18", "--ratio", "0.5", "--out", path);
        Assert.That(code, Is.Zero, error);
        var groupLines = output.Split('\n').Where(l => l.StartsWith("group ", StringComparison.Ordinal)).ToList();
        Assert.That(groupLines, Has.Count.EqualTo(12), "ResNet-18 has 12 channel groups");
        Assert.That(groupLines, Has.All.Match(@"^group \d+ \[[a-z ]+\] \d+ → \d+ \((\d+ removed|untouched)\)$"));
        Assert.That(groupLines[0], Does.EndWith("64 → 32 (32 removed)"));

        var (jsonCode, json, jsonError) = HarnessCli.Run(PruneCommand.Create(), "prune", "channel", "--arch", "resnet18", "--ratio", "0.5",
            "--out", path, "--force", "--json");
        Assert.That(jsonCode, Is.Zero, jsonError);
        using var doc = JsonDocument.Parse(json);
        var first = doc.RootElement.GetProperty("report").GetProperty("groups")[0];
        Assert.That(first.GetProperty("removed").GetArrayLength(), Is.EqualTo(32), "the indices are in the JSON");
    }

    [Test]
    public void MetricsOfOneModelReadAsMetricValueRowsThatFitATerminal()
    {
        var (code, output, error) = HarnessCli.Run(MetricsCommand.Create(), "metrics", "--arch", "resnet18", "--image-size", "32", "--runs", "1",
            "--out", Path.Combine(Dir, "m"));
        Assert.That(code, Is.Zero, error);
        var rows = output.Split('\n').Where(l => l.StartsWith('│')).ToList();
        Assert.That(rows.Any(l => l.Contains("Params") && l.Contains("11,181,642")), output);
        Assert.That(rows.Any(l => l.Contains("Test acc %")), output);
        var table = output.Split('\n').Where(l => l.Length > 0 && "╭│├╰".Contains(l[0])).ToList();
        Assert.That(table.Max(l => l.Length), Is.LessThanOrEqualTo(100), "two columns, not eighteen");
        Assert.That(rows, Has.Count.EqualTo(19), "a header row and one row per metric");
    }
}
