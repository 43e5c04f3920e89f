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
        if (Read(root, e.Name) is { } own)
            return own.Exit == 0 ? $"its Slurm job {own.Job} ended without results; log {own.Log}"
                : $"its Slurm job {own.Job} failed with exit code {own.Exit}; log {own.Log}";
        foreach (var dep in runner.DependenciesOf(e))
            if (Read(root, dep) is { Exit: not 0 } failed)
                return $"not run: {dep} failed (Slurm job {failed.Job}, exit code {failed.Exit}; log {failed.Log})";
        return null;
    };

    /// <summary>Forgets the status of experiments about to run again, so that a report never shows an old failure.</summary>
    public static void Clear(string root, IEnumerable<string> experiments)
    {
        foreach (var e in experiments)
            if (File.Exists(PathOf(root, e))) File.Delete(PathOf(root, e));
    }
}
