using Harness.Cli.Commands;
using Harness.Tests.TestSupport;
using System.Text.Json;

namespace Harness.Tests.Unit.Cli;

public class SummaryCommandTests
{
    private static (int Code, string Out, string Err) Run(params string[] args) => HarnessCli.Run(SummaryCommand.Create(), args);

    [Test]
    public void JsonSummaryReportsParametersAndTensors()
    {
        var (code, output, _) = Run("summary", "--weights", "none", "--json");
        Assert.That(code, Is.Zero);
        using var doc = JsonDocument.Parse(output);
        Assert.That(doc.RootElement.GetProperty("parameters").GetInt64(), Is.EqualTo(4_020_358));
        Assert.That(doc.RootElement.GetProperty("stateDictTensors").GetInt32(), Is.EqualTo(360));
        Assert.That(doc.RootElement.GetProperty("layers").GetArrayLength(), Is.GreaterThan(100));
    }

    [Test]
    public void TableSummaryNamesLayersLikeTorchvision()
    {
        var (code, output, _) = Run("summary", "--weights", "none");
        Assert.That(code, Is.Zero);
        Assert.That(output, Does.Contain("features.1.0.block.1.fc1").And.Contain("4,020,358").And.Contain("state-dict tensors: 360"));
    }

    [Test]
    public void MissingWeightsFileIsOneLineErrorAndNonZeroExit()
    {
        var (code, _, error) = Run("summary", "--weights", "/nonexistent/w.pth");
        Assert.That(code, Is.Not.Zero);
        Assert.That(error.Trim(), Does.StartWith("error:").And.Contain("/nonexistent/w.pth"));
        Assert.That(error.Trim().Split('\n'), Has.Length.EqualTo(1));
    }
}
