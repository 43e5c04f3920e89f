namespace Harness.Experiments.Kinds;

/// <summary>
/// One-shot or iterative pruning of any kind: <see cref="Steps"/> prune → fine-tune rounds of
/// <see cref="EpochsPerStep"/> epochs each (one round of the experiment's epochs when one-shot). Where each step
/// takes the model is the kind's rule: <see cref="Linear"/> for channels (Torch-Pruning's scheduler),
/// <see cref="Cubic"/> for fine-grained sparsity (Zhu and Gupta's automated gradual pruning).
/// </summary>
public sealed record PruningSchedule(int Steps, int EpochsPerStep)
{
    /// <summary>The base model's schedule and every one-shot experiment's: one step of the experiment's epochs.</summary>
    public static PruningSchedule For(ExperimentSpec e, StudyConfig config)
    {
        int steps = ExperimentProcedure.For(e.Kind).Prunes ? config.PruningSteps : 1;
        return new PruningSchedule(steps, steps == 1 ? e.Epochs : config.EpochsPerStep ?? e.Epochs);
    }

    /// <summary>Torch-Pruning's linear scheduler: step k of K reaches <c>final · k / K</c>.</summary>
    public double Linear(double final, int k) => final * k / Steps;

    /// <summary>Zhu and Gupta's s_k = s·(1 − (1 − k/K)³).</summary>
    public double Cubic(double final, int k) => final * (1 - Math.Pow(1 - (double)k / Steps, 3));
}
