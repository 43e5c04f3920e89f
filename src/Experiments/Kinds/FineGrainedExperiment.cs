using Harness.Model.Networks;
using Harness.Pruning.FineGrained;

namespace Harness.Experiments.Kinds;

/// <summary>The study's fine-grained experiment: global L1 unstructured pruning of every conv/linear weight
/// (torch.nn.utils.prune's masks), fine-tuned with the masks, then made permanent. Iteratively, Zhu and Gupta's
/// gradual schedule: each step prunes the share of the surviving weights that brings the sparsity from s_{k−1} to
/// s_k (masks compound, as torch.nn.utils.prune's).</summary>
public sealed class FineGrainedExperiment : ExperimentProcedure
{
    public static FineGrainedExperiment Instance { get; } = new();

    public override string StepQuantity => "sparsity";

    public override string Describe(ExperimentSpec e, StudyConfig config) => config.PruningSteps > 1
        ? $"global L1 unstructured pruning to {e.Amount} in {config.PruningSteps} gradual steps (Zhu & Gupta), {config.EpochsPerStep ?? e.Epochs} epochs after each, then permanent"
        : $"global L1 unstructured pruning {e.Amount} of the base model, {e.Epochs} epochs with masks, then permanent";

    public override (IPrunableNetwork Model, double Reached) Prune(PruningStep step)
    {
        double target = step.Schedule.Cubic(step.Experiment.Amount, step.Index);
        double previous = step.State.PreviousSparsity;
        double amount = previous >= 1 ? 0 : (target - previous) / (1 - previous);
        step.State.PreviousSparsity = target;
        FineGrainedPruner.Prune(step.Model.Module,
            new FineGrainedOptions { Amount = Math.Clamp(amount, 0, 1), Method = FineGrainedMethods.L1, Scope = PruningScope.Global });
        return (step.Model, target);
    }

    public override void Finish(IPrunableNetwork model, string checkpoint, TextWriter log)
    {
        var sparsity = FineGrainedPruner.MakePermanent(model.Module);
        Model.ModelLoader.Save(model, checkpoint);
        log.WriteLine($"  made permanent: {sparsity.Sparsity:P2} of conv/linear weights are zero");
    }
}
