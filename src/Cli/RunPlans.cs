using Harness.Experiments;
using Harness.Storage.Files;
using System.Globalization;

namespace Harness.Cli;

/// <summary>What <c>study --plan</c> and <c>sweep --plan</c> print: the experiments a run would make, in order, with
/// what each needs first, where it stands in the output folder and the settings its manifest records.</summary>
public static class RunPlans
{
    public static void Print(StudyConfig config, IReadOnlyList<PlannedExperiment> plan, bool json, TextWriter w)
    {
        if (json)
        {
            w.WriteLine(HarnessJson.Serialize(new { output = config.Output, experiments = plan }));
            return;
        }
        w.WriteLine($"{plan.Count} experiments into {config.Output} ({plan.Count(p => p.State == ExperimentState.Finished)} finished):");
        int width = plan.Max(p => p.Name.Length);
        foreach (var p in plan)
        {
            string needs = p.DependsOn.Count == 0 ? "" : $"  after {string.Join(", ", p.DependsOn)}";
            w.WriteLine($"  {p.Name.PadRight(width)}  {p.Kind,-13} amount {p.Amount.ToString("0.###", CultureInfo.InvariantCulture),-5} " +
                        $"epochs {p.Epochs,-3} {StateText(p.State),-9}{needs}");
        }
        w.WriteLine("Each experiment's settings: --plan --json.");
    }

    private static string StateText(ExperimentState s) => s switch
    {
        ExperimentState.Pending => "pending",
        ExperimentState.Resumable => "resumable",
        ExperimentState.Finished => "finished",
        _ => "differs",
    };

    /// <summary>The per-experiment lock of <paramref name="root"/>, for <see cref="StudyRunner.ExperimentLock"/>.</summary>
    public static Func<ExperimentSpec, IDisposable> Locks(string root, TextWriter log) =>
        e => OutputLock.ForExperiment(root, e.Name, log);
}
