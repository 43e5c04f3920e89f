using Harness.Cli.Commands;
using Harness.Tests.TestSupport;
using System.Text.Json;

namespace Harness.Tests.Unit.Cli;

public class PruneChannelCommandTests
{
    private static (int Code, string Out, string Err) Run(params string[] args) => HarnessCli.Run(PruneCommand.Create(), args);

    [Test]
    public void GroupRatioOverridesOneGroupAndTheReportShowsIt()
    {
        string path = Path.Combine(Path.GetTempPath(), $"cli-channel-{Guid.NewGuid():N}.pth");
        try
        {
            // Group 0 (stem, 32 channels) at 0.5 keeps 16; group 40 does not exist, so first check the good case.
            var (code, output, error) = Run("prune", "channel", "--weights", "none", "--ratio", "0.2", "--group-ratio", "0=0.5",
                "--out", path, "--json");
            Assert.That(code, Is.Zero, error);
            using var doc = JsonDocument.Parse(output);
            var groups = doc.RootElement.GetProperty("report").GetProperty("groups");
            Assert.That(groups[0].GetProperty("after").GetInt32(), Is.EqualTo(16), "group 0 pruned at its own ratio");
            Assert.That(groups[1].GetProperty("after").GetInt32(), Is.EqualTo(8), "group 1 (16 channels) at 0.2: int(12.8) = 12 → 8");
            Assert.That(File.Exists(path));
        }
        finally { File.Delete(path); }
    }

    [TestCase("0:0.5", "expected ID=RATIO")]
    [TestCase("99=0.5", "no group 99")]
    [TestCase("0=1.5", "must lie in [0, 1)")]
    public void BadGroupRatioIsAOneLineErrorNamingTheOption(string value, string message)
    {
        var (code, _, error) = Run("prune", "channel", "--weights", "none", "--group-ratio", value, "--out", "/nonexistent/never.pth");
        Assert.That(code, Is.Not.Zero);
        Assert.That(error.Trim(), Does.StartWith("error:").And.Contain(message));
    }
}
