using Harness.Runtime;
using Harness.Tests.TestSupport;

namespace Harness.Tests.Unit.Runtime;

/// <summary>One progress line everywhere: drawn in place on the terminal the command line chose, silent otherwise.</summary>
[NonParallelizable]
public class ProgressLineTests
{
    [TearDown]
    public void TearDown() => ProgressLine.Terminal = null;

    [Test]
    public void TheLineSaysWhatHowFarHowFastAndHowLongIsLeft()
    {
        var line = ProgressLine.Start("evaluating", 8, "batches");
        Assert.That(line.Text(2, 8, TimeSpan.FromSeconds(4)), Is.EqualTo("evaluating [#####...............] 2/8 batches, 0.5/s, 12s left"));
        Assert.That(line.Text(8, 8, TimeSpan.FromSeconds(4)), Is.EqualTo("evaluating [####################] 8/8 batches, 2.0/s"));
    }

    [Test]
    public void ItIsDrawnInPlaceOnTheTerminalAndClearedWhenDone()
    {
        var terminal = new StringWriter();
        ProgressLine.Terminal = terminal;
        using (var line = ProgressLine.Start("timing", 3, "runs"))
            for (int i = 0; i < 3; i++) line.Advance();
        string drawn = terminal.ToString();
        Assert.That(drawn, Does.StartWith("\rtiming [").And.Contain("3/3 runs"));
        Assert.That(drawn, Does.Not.Contain("\n"), "redrawn in place, never a new line");
        Assert.That(drawn, Does.EndWith("\r"), "cleared when done");
    }

    [Test]
    public void ALineStartedWithoutATerminalNeverDraws()
    {
        ProgressLine.Terminal = null;
        var later = new StringWriter();
        using (var line = ProgressLine.Start("x", 2))
        {
            ProgressLine.Terminal = later; // a terminal that appears after the start does not receive this line
            line.Advance(2);
        }
        Assert.That(later.ToString(), Is.Empty);
    }

    [Test]
    public void TheCommandLineDrawsNoProgressWhenStderrIsNotATerminalOrJsonIsAsked()
    {
        ProgressLine.Terminal = new StringWriter();
        var (code, output, error) = HarnessCli.Run(Harness.Cli.Commands.SummaryCommand.Create(), "summary", "--json");
        Assert.That(code, Is.EqualTo(0));
        Assert.That(ProgressLine.Terminal, Is.Null, "a captured stderr is not a terminal");
        Assert.That(output + error, Does.Not.Contain("\r"));
    }
}
