using System.CommandLine;

namespace Harness.Cli;

/// <summary>Every subcommand of the program; each lives in its own file under Commands/. Every command that runs
/// gets <c>--threads</c> (<see cref="CommonOptions.Threads"/>) unless it has its own, and
/// <c>--memory-format</c> (<see cref="CommonOptions.MemoryFormat"/>).</summary>
public static class CommandCatalog
{
    public static IEnumerable<Command> All() => Created().Select(c => c.Name is "cache" or "slurm" ? c : WithThreads(c)); // neither computes anything here

    private static Command WithThreads(Command command)
    {
        foreach (var sub in command.Subcommands) WithThreads(sub);
        if (command.Action is not null && !command.Options.Any(o => o.Name == "--threads")) command.Options.Add(CommonOptions.Threads());
        if (command.Action is not null && !command.Options.Any(o => o.Name == "--memory-format")) command.Options.Add(CommonOptions.MemoryFormat());
        return command;
    }

    private static IEnumerable<Command> Created()
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
        yield return Commands.ReportCommand.Create();
        yield return Commands.SlurmCommand.Create();
        yield return Commands.ExportCommand.Create();
        yield return Commands.ImportCommand.Create();
        yield return Commands.SensitivityCommand.Create();
        yield return Commands.CacheCommand.Create();
    }
}
