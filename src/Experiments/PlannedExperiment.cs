namespace Harness.Experiments;

/// <summary>Where an experiment stands in an output folder under the current settings: not started, started and
/// resumable from its last completed epoch, finished (reused as it is), or made with other settings (refused
/// without --force).</summary>
public enum ExperimentState { Pending, Resumable, Finished, Differs }

/// <summary>One experiment as <c>--plan</c> lists it: what it makes, what it needs first, where it stands and the
/// settings its manifest records.</summary>
public sealed record PlannedExperiment(string Name, string Kind, double Amount, int Epochs, IReadOnlyList<string> DependsOn,
    ExperimentState State, string Checkpoint, string Metrics, IReadOnlyDictionary<string, string> Settings);
