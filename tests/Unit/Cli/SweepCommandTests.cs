using Harness.Cli.Commands;
using Harness.Experiments;
using Harness.Tests.TestSupport;

namespace Harness.Tests.Unit.Cli;

public class SweepCommandTests
{
    [Test]
    public void MethodsAndRatiosParse()
    {
        Assert.That(SweepCommand.ParseMethods([]), Is.EqualTo(new[] { SweepMethod.FineGrained, SweepMethod.Channel }));
        Assert.That(SweepCommand.ParseMethods(["channel"]), Is.EqualTo(new[] { SweepMethod.Channel }));
        Assert.That(SweepCommand.ParseMethods(["fine-grained,channel", "both"]), Is.EqualTo(new[] { SweepMethod.FineGrained, SweepMethod.Channel }));
        Assert.That(SweepCommand.ParseRatios("0.1, 0.5,0.9"), Is.EqualTo(new[] { 0.1, 0.5, 0.9 }));
    }

    [TestCase("--pruning", "pruned", "--pruning 'pruned'")]
    [TestCase("--ratios", "0.1,x", "--ratios: 'x' is not a number")]
    [TestCase("--ratios", "0.5,1", "--ratios: 1 must lie in (0, 1)")]
    public void BadArgumentIsAOneLineError(string option, string value, string message)
    {
        var (code, _, error) = HarnessCli.Run(SweepCommand.Create(), "sweep", option, value, "--print-config");
        Assert.That(code, Is.Not.Zero);
        Assert.That(error.Trim(), Does.StartWith("error:").And.Contain(message));
    }

    [Test]
    public void PrintConfigShowsTheSweepAsStudyExperiments()
    {
        var (code, output, _) = HarnessCli.Run(SweepCommand.Create(), "sweep", "--pruning", "channel", "--ratios", "0.5,0.25", "--channel-epochs", "2",
            "--base-model", "b.pth", "--print-config");
        Assert.That(code, Is.Zero);
        var config = System.Text.Json.JsonSerializer.Deserialize<StudyConfig>(output, StudyConfig.JsonOptions)!;
        Assert.That(config.ChannelRatios, Is.EqualTo(new[] { 0.25, 0.5 }));
        Assert.That(config.FineGrainedAmounts, Is.Empty);
        Assert.That((config.ChannelEpochs, config.BaseModel, config.Output), Is.EqualTo((2, "b.pth", "sweep")));
    }
}
