using Harness.Data;
using Harness.Model.Networks;
using TorchSharp;

namespace Harness.Experiments.Kinds;

/// <summary>Step <see cref="Index"/> of <see cref="Schedule"/> of one experiment: the model to prune and what a
/// procedure may need to prune it (the study's settings, the training split for calibration, the device, the log).</summary>
public sealed record PruningStep(
    ExperimentSpec Experiment,
    StudyConfig Config,
    PruningSchedule Schedule,
    int Index,
    IPrunableNetwork Model,
    ImageDataset Train,
    torch.Device Device,
    TextWriter Log)
{
    /// <summary>State a procedure keeps from one step to the next of the same experiment (a channel schedule's
    /// original widths, a budget's ratio, the sparsity reached so far).</summary>
    public required ScheduleState State { get; init; }

    /// <summary>"step k/K (…): " in front of a step's log line when there are several steps.</summary>
    public string LogPrefix(double target) => Schedule.Steps > 1 ? $"step {Index}/{Schedule.Steps} (ratio {target:0.####}): " : "";
}

/// <summary>What an experiment's procedure carries across its steps.</summary>
public sealed class ScheduleState
{
    /// <summary>The unpruned widths by space name (channel kinds with several steps).</summary>
    public IReadOnlyDictionary<string, int>? OriginalWidths { get; set; }

    /// <summary>The sparsity reached by the previous step (fine-grained).</summary>
    public double PreviousSparsity { get; set; }

    /// <summary>The ratio a MACs budget searched for (channel budget).</summary>
    public double BudgetRatio { get; set; }
}
