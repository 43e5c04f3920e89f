using Harness.Experiments;
using Harness.Storage.Files;
using System.Text;

namespace Harness.Cluster;

/// <summary>
/// A study or sweep as Slurm jobs: the base experiment, then an array with one task per pruned experiment that waits
/// for it (<c>afterok</c>), then the merge (<c>harness report</c>, <c>afterany</c> on the array, so that it names what
/// failed). Only what is not finished under the current settings is submitted: a finished folder with its report
/// submits nothing, and a resubmission after a failure reruns the failed and missing experiments (an interrupted
/// one resumes from its last completed epoch). Scripts, the configuration the tasks read and the logs live under
/// <c>OUT/slurm/</c>; each task runs <c>harness study --config OUT/slurm/config.json --only NAME --no-report</c> with
/// its allocation's CPUs as libtorch threads and records its exit in <see cref="SlurmStatus"/>.
/// </summary>
public sealed class SlurmSubmitter(RunRecord record, IReadOnlyList<string> harness, IReadOnlyList<string> slurmArgs, bool force)
{
    private string Root => Path.GetFullPath(record.Config.Output);
    public string Folder => Path.Combine(Root, "slurm");
    public string ConfigPath => Path.Combine(Folder, "config.json");
    public string LogFolder => Path.Combine(Folder, "logs");

    /// <summary>The jobs to submit, in order; empty when every experiment is finished and report.md exists. Refuses
    /// experiments made with other settings unless forced (their tasks then recompute them).</summary>
    public IReadOnlyList<SlurmJob> Jobs(IReadOnlyList<PlannedExperiment> plan, bool reportExists)
    {
        var differs = plan.Where(p => p.State == ExperimentState.Differs).Select(p => p.Name).ToList();
        if (differs.Count > 0 && !force)
            throw new ArgumentException($"slurm submit: {string.Join(", ", differs)} in {Root} {(differs.Count == 1 ? "was" : "were")} made with other settings " +
                                        "(see 'study --plan'); pass --force to recompute");
        var baseExperiment = plan.FirstOrDefault(p => p.Kind == nameof(ExperimentKind.Base));
        bool baseToDo = baseExperiment is not null && baseExperiment.State != ExperimentState.Finished;
        bool needBase = baseExperiment is not null && plan.Any(p => p.DependsOn.Contains(baseExperiment.Name));
        // A base made again changes every pruned model's starting point: they are made again too.
        var pruned = plan.Where(p => p.Kind != nameof(ExperimentKind.Base) && (baseToDo && needBase || p.State != ExperimentState.Finished))
            .Select(p => p.Name).ToList();
        var jobs = new List<SlurmJob>();
        if (baseToDo) jobs.Add(Task("base", [baseExperiment!.Name], null, ""));
        if (pruned.Count > 0) jobs.Add(Task("pruned", pruned, baseToDo && needBase ? "base" : null, "afterok"));
        if (jobs.Count > 0 || !reportExists) jobs.Add(Merge(jobs.LastOrDefault()?.Key));
        return jobs;
    }

    private SlurmJob Task(string key, IReadOnlyList<string> experiments, string? after, string afterType)
    {
        bool array = key == "pruned";
        string log = Path.Combine(LogFolder, array ? "pruned-%A_%a.out" : $"{key}-%j.out");
        var sb = Header(key, log);
        sb.AppendLine($"# {(array ? "One task per pruned experiment" : "The base experiment")} of {Root}, written by 'harness slurm submit'.");
        sb.AppendLine("names=(" + string.Join(" ", experiments.Select(Quote)) + ")");
        sb.AppendLine("name=${names[${SLURM_ARRAY_TASK_ID:-0}]}");
        sb.AppendLine(array
            ? "job=${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}"
            : "job=${SLURM_JOB_ID}");
        sb.AppendLine(array
            ? $"log={Quote(LogFolder)}/pruned-${{SLURM_ARRAY_JOB_ID}}_${{SLURM_ARRAY_TASK_ID}}.out"
            : $"log={Quote(LogFolder)}/{key}-${{SLURM_JOB_ID}}.out");
        sb.AppendLine("threads=${SLURM_CPUS_PER_TASK:-${SLURM_CPUS_ON_NODE:-1}}");
        sb.AppendLine($"status={Quote(SlurmStatus.Folder(Root))}");
        var command = harness.Concat(["study", "--config", ConfigPath]).Select(Quote)
            .Concat(["--only", "\"$name\"", "--no-report", "--threads", "\"$threads\""])
            .Concat(force ? ["--force"] : Array.Empty<string>());
        sb.AppendLine("# Run the experiment in the background so that a TERM from scancel reaches it and its end is recorded.");
        sb.AppendLine(string.Join(" ", command) + " &");
        sb.AppendLine("child=$!");
        sb.AppendLine("trap 'kill -TERM \"$child\" 2>/dev/null' TERM INT");
        sb.AppendLine("wait \"$child\"; rc=$?");
        sb.AppendLine("while kill -0 \"$child\" 2>/dev/null; do wait \"$child\"; rc=$?; done");
        sb.AppendLine("mkdir -p \"$status\"");
        sb.AppendLine("printf 'exit %s\\njob %s\\nlog %s\\n' \"$rc\" \"$job\" \"$log\" > \"$status/$name.partial\" && mv \"$status/$name.partial\" \"$status/$name\"");
        sb.AppendLine("exit \"$rc\"");
        return new SlurmJob(key, Path.Combine(Folder, key + ".sh"), sb.ToString(), experiments, after, afterType);
    }

    private SlurmJob Merge(string? after)
    {
        var sb = Header("merge", Path.Combine(LogFolder, "merge-%j.out"));
        sb.AppendLine($"# The report of {Root} from its finished experiments; names the missing ones and why.");
        sb.AppendLine("exec " + string.Join(" ", harness.Concat(["report", "--out", Root]).Select(Quote)));
        return new SlurmJob("merge", Path.Combine(Folder, "merge.sh"), sb.ToString(), [], after, "afterany");
    }

    private StringBuilder Header(string key, string log)
    {
        var sb = new StringBuilder("#!/usr/bin/env bash\n");
        sb.AppendLine($"#SBATCH --job-name=harness-{key}");
        sb.AppendLine($"#SBATCH --output={log}");
        sb.AppendLine($"#SBATCH --chdir={record.WorkingDirectory}");
        sb.AppendLine("set -u");
        return sb;
    }

    /// <summary>The sbatch arguments of a job: the user's (--slurm-args), the array and dependency, the script.</summary>
    public IReadOnlyList<string> SbatchArguments(SlurmJob job, IReadOnlyDictionary<string, string> submitted)
    {
        var args = new List<string>(slurmArgs);
        if (job.IsArray) args.Add($"--array=0-{job.Experiments.Count - 1}");
        if (job.After is string after && submitted.TryGetValue(after, out var id)) args.Add($"--dependency={job.AfterType}:{id}");
        args.Add(job.ScriptPath);
        return args;
    }

    /// <summary>Writes the configuration, run record and scripts, forgets the old status of the experiments about to
    /// run, and submits the jobs in order; returns their ids by key.</summary>
    public IReadOnlyDictionary<string, string> Submit(IReadOnlyList<SlurmJob> jobs, ISlurmClient client, TextWriter log)
    {
        var ids = new Dictionary<string, string>(StringComparer.Ordinal);
        if (jobs.Count == 0) return ids;
        Directory.CreateDirectory(LogFolder);
        AtomicFile.WriteAllText(ConfigPath, record.Config.ToJson());
        record.Save();
        SlurmStatus.Clear(Root, jobs.SelectMany(j => j.Experiments));
        foreach (var job in jobs)
        {
            AtomicFile.WriteAllText(job.ScriptPath, job.Script);
            if (!OperatingSystem.IsWindows())
                File.SetUnixFileMode(job.ScriptPath, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute |
                                                 UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
            ids[job.Key] = client.Submit(SbatchArguments(job, ids));
            log.WriteLine($"{job.Key}: job {ids[job.Key]}{Describe(job)}");
        }
        AtomicFile.WriteAllText(Path.Combine(Folder, "jobs.json"), HarnessJson.Serialize(jobs.Select(j => new { key = j.Key, job = ids[j.Key], experiments = j.Experiments, script = j.ScriptPath })));
        return ids;
    }

    public static string Describe(SlurmJob job) => job.Key switch
    {
        "base" => $" ({job.Experiments[0]})",
        "pruned" => $" (array of {job.Experiments.Count}: {string.Join(", ", job.Experiments)}){(job.After is null ? "" : $", {job.AfterType} {job.After}")}",
        _ => job.After is null ? " (report)" : $" (report, {job.AfterType} {job.After})",
    };

    /// <summary>A word for bash: single-quoted unless it is plain.</summary>
    public static string Quote(string s) =>
        s.Length > 0 && s.All(c => char.IsAsciiLetterOrDigit(c) || c is '/' or '.' or '_' or '-' or '=' or ':' or ',' or '+')
            ? s : "'" + s.Replace("'", "'\\''") + "'";

    /// <summary>Splits --slurm-args as a shell would: spaces separate, single and double quotes group.</summary>
    public static IReadOnlyList<string> SplitArguments(string? text)
    {
        var args = new List<string>();
        if (string.IsNullOrWhiteSpace(text)) return args;
        var current = new StringBuilder();
        bool inWord = false;
        char quote = '\0';
        foreach (char c in text)
        {
            if (quote != '\0')
            {
                if (c == quote) quote = '\0';
                else current.Append(c);
            }
            else if (c is '\'' or '"') { quote = c; inWord = true; }
            else if (char.IsWhiteSpace(c))
            {
                if (inWord) args.Add(current.ToString());
                current.Clear();
                inWord = false;
            }
            else { current.Append(c); inWord = true; }
        }
        if (quote != '\0') throw new ArgumentException($"--slurm-args '{text}': a {quote} quote is not closed");
        if (inWord) args.Add(current.ToString());
        return args;
    }
}
