using Harness.Pruning.Channels;

namespace Harness.Experiments.Kinds;

/// <summary>Channel pruning to a fraction of the base model's thop MACs: the per-group ratio is searched on the base
/// model under the monotone rule (every group pruned, <see cref="BudgetSearch"/>), then pruned like a channel
/// experiment.</summary>
public sealed class ChannelBudgetExperiment : ChannelExperiment
{
    public static new ChannelBudgetExperiment Instance { get; } = new();

    public override string Describe(ExperimentSpec e, StudyConfig config) =>
        $"channel pruning to {e.Amount} of the base model's MACs ({config.ChannelImportance.Name}, round_to {config.RoundTo}, ratio searched under the monotone rule), {e.Epochs} epochs{(config.PruningSteps > 1 ? $" per step × {config.PruningSteps} steps" : "")}";

    protected override bool NeverUntouched(StudyConfig config) => true;

    protected override double FinalRatio(PruningStep step)
    {
        if (step.Index == 1)
        {
            var macs = ChannelBudget.Measure(BudgetMeasure.Macs, step.Config.ImageSize);
            step.State.BudgetRatio = BudgetSearch.ForTarget(step.Model, new ChannelPruningOptions { RoundTo = step.Config.RoundTo },
                (long)Math.Floor(step.Experiment.Amount * macs(step.Model)), macs, "channelTargetMacs").Ratio;
            step.Log.WriteLine($"  MACs budget {step.Experiment.Amount}: ratio {step.State.BudgetRatio:F6} (never untouched)");
        }
        return step.State.BudgetRatio;
    }
}
