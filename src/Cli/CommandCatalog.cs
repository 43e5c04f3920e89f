using System.CommandLine;

namespace Harness.Cli;

/// <summary>Every subcommand of the program; each lives in its own file under Commands/.</summary>
public static class CommandCatalog
{
    public static IEnumerable<Command> All()
    {
        yield return Commands.SummaryCommand.Create();
        yield return Commands.MetricsCommand.Create();
        yield return Commands.PruneCommand.Create();
        yield return Commands.TrainCommand.Create();
        yield return Commands.EvaluateCommand.Create();
        yield return Commands.PredictCommand.Create();
        yield return Commands.BenchCommand.Create();
        yield return Commands.StudyCommand.Create();
        yield return Commands.SweepCommand.Create();
        yield return Commands.ExportCommand.Create();
    }
}
