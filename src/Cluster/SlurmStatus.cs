using Harness.Experiments;
using System.Globalization;

namespace Harness.Cluster;

/// <summary>
/// What each Slurm task of an output folder left: <c>slurm/status/&lt;experiment&gt;</c> holds <c>exit N</c>, the job id
/// and its log, written by the job script when the experiment's command ends (or is killed). The merge job's report
/// names a missing experiment's reason from it, and a base that failed from its dependants.
/// </summary>
public static class SlurmStatus
{
    public static string Folder(string root) => Path.Combine(root, "slurm", "status");

    public static string PathOf(string root, string experiment) => Path.Combine(Folder(root), experiment);

    /// <summary>The recorded exit code, job and log of an experiment's last task, if one ended.</summary>
    public static (int Exit, string Job, string Log)? Read(string root, string experiment)
    {
        string path = PathOf(root, experiment);
        if (!File.Exists(path)) return null;
        var fields = File.ReadAllLines(path).Select(l => l.Split(' ', 2)).Where(f => f.Length == 2).ToDictionary(f => f[0], f => f[1].Trim());
        if (!fields.TryGetValue("exit", out var exit) || !int.TryParse(exit, NumberStyles.Integer, CultureInfo.InvariantCulture, out int code)) return null;
        return (code, fields.GetValueOrDefault("job", "?"), fields.GetValueOrDefault("log", "?"));
    }

    /// <summary>Why an experiment has no results, as far as the tasks' status files say: its own task failed, or
    /// the experiment it depends on did; null when no task of either recorded an end.</summary>
    public static Func<ExperimentSpec, string?> Reasons(string root, StudyRunner runner) => e =>
    {
        if (Read(root, e.Name) is { } own) return Describe(own.Exit, own.Job, own.Log);
        foreach (var dep in runner.DependenciesOf(e))
            if (Read(root, dep) is { Exit: not 0 } failed)
                return $"not run: {dep} failed (Slurm job {failed.Job}, exit code {failed.Exit}; log {failed.Log})";
        return null;
    };

    /// <summary>What an experiment's own task left, in words: a run stopped by a signal (Harness's exit 143 after
    /// SIGTERM — scancel or the job's time limit — or 130 after SIGINT) kept its last saved epoch, and a resubmission
    /// resumes from it; any other non-zero exit is a failure.</summary>
    public static string Describe(int exit, string job, string log) => exit switch
    {
        0 => $"its Slurm job {job} ended without results; log {log}",
        143 or 130 => $"its Slurm job {job} was stopped by {(exit == 143 ? "SIGTERM (scancel or the job's time limit)" : "SIGINT")} after its last saved epoch; submit again to resume it; log {log}",
        _ => $"its Slurm job {job} failed with exit code {exit}; log {log}",
    };

    /// <summary>Forgets the status of experiments about to run again, so that a report never shows an old failure.</summary>
    public static void Clear(string root, IEnumerable<string> experiments)
    {
        foreach (var e in experiments)
            if (File.Exists(PathOf(root, e))) File.Delete(PathOf(root, e));
    }
}
