using System.CommandLine;

namespace Harness.Cli.Commands;

/// <summary><c>prune</c>: fine-grained (masks) and channel (structural) pruning.</summary>
public static class PruneCommand
{
    public static Command Create() => new("prune", "Prune a model")
    {
        PruneFineGrainedCommand.Create(),
        PruneChannelCommand.Create(),
    };
}
