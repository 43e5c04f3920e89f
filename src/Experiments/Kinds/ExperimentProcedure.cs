namespace Harness.Experiments.Kinds;

/// <summary>
/// What one kind of experiment does inside the study's common sequence (load, prune step by step, fine-tune,
/// evaluate, measure): its description, the settings its manifest records beyond the common ones, and how it prunes
/// one step of a <see cref="PruningSchedule"/>. <see cref="StudyRunner"/> sequences; the kinds do the work.
/// </summary>
public abstract class ExperimentProcedure
{
    /// <summary>The procedure of an experiment kind.</summary>
    public static ExperimentProcedure For(ExperimentKind kind) => kind switch
    {
        ExperimentKind.Base => BaseExperiment.Instance,
        ExperimentKind.FineGrained => FineGrainedExperiment.Instance,
        ExperimentKind.Channel => ChannelExperiment.Instance,
        ExperimentKind.Slimming => SlimmingExperiment.Instance,
        ExperimentKind.ChannelBudget => ChannelBudgetExperiment.Instance,
        ExperimentKind.ChannelLatency => ChannelLatencyExperiment.Instance,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "no procedure for this experiment kind"),
    };

    /// <summary>True for every kind but the base model: it starts from the base model and prunes it.</summary>
    public virtual bool Prunes => true;

    /// <summary>The quantity a step reaches, as the step CSV's column names it (<c>ratio</c>, <c>sparsity</c>).</summary>
    public virtual string StepQuantity => "ratio";

    /// <summary>One line saying what the experiment does, for the study's log.</summary>
    public abstract string Describe(ExperimentSpec e, StudyConfig config);

    /// <summary>Adds the settings this kind's results depend on beyond the common ones.</summary>
    public virtual void AddSettings(IDictionary<string, string?> settings, ExperimentSpec e, StudyConfig config) { }

    /// <summary>Called once before the first step with the unpruned model (a channel schedule records its widths).</summary>
    public virtual void Begin(PruningStep step) { }

    /// <summary>Prunes the model of <paramref name="step"/> to the step's share of the experiment's target and returns
    /// the pruned model (the step's model itself when pruned in place; a new one otherwise, the old one disposed)
    /// and the quantity it reached.</summary>
    public abstract (Model.Networks.IPrunableNetwork Model, double Reached) Prune(PruningStep step);

    /// <summary>After fine-tuning, before the test: a fine-grained model's masks are made permanent here.</summary>
    public virtual void Finish(Model.Networks.IPrunableNetwork model, string checkpoint, TextWriter log) { }

    protected static string F(double v) => v.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
}
