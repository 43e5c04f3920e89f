using Harness.Cluster;
using Harness.Experiments;
using Harness.Storage.Files;
using System.CommandLine;

namespace Harness.Cli.Commands;

/// <summary><c>slurm submit study|sweep [the command's options]</c>: the run as Slurm jobs (<see cref="SlurmSubmitter"/>).</summary>
public static class SlurmCommand
{
    public static Command Create() => new("slurm", "Run a study or sweep on a Slurm cluster: the base job, an array of pruned experiments after it, and the report")
    {
        new Command("submit", "Write the job scripts under --out/slurm/ and submit them with sbatch (only what is not finished)") { Study(), Sweep() },
    };

    private sealed record Extra(Option<string> SlurmArgs, Option<bool> DryRun, Option<string?> Harness, Option<bool> Json, Option<bool> Force)
    {
        public IEnumerable<Option> All => [SlurmArgs, DryRun, Harness, Json, Force];

        public static Extra Make() => new(
            new Option<string>("--slurm-args") { Description = "sbatch options for every job, e.g. \"--partition gpu --time 4:00:00 --gres=gpu:1 -c 8 --mem 32G\" (each task uses its CPUs as libtorch threads)", DefaultValueFactory = _ => "" },
            new Option<bool>("--dry-run") { Description = "print the sbatch commands and job scripts; write and submit nothing" },
            new Option<string?>("--harness") { Description = "the command that runs Harness in the jobs (default: this program)" },
            CommonOptions.Json(),
            CommonOptions.Force());
    }

    private static Command Study()
    {
        var shared = new StudyOptions("output folder, shared by every job (models/, pruned_models/, metrics/, report.md, slurm/)", new StudyConfig());
        var extra = Extra.Make();
        var command = new Command("study", "The study's experiments as Slurm jobs");
        foreach (var o in shared.All.Concat(extra.All)) command.Options.Add(o);
        command.SetAction(parse =>
        {
            var c = shared.Resolve(parse, parse.InvocationConfiguration.Error);
            c.Validate();
            return Submit("study", c, parse, extra);
        });
        return command;
    }

    private static Command Sweep()
    {
        var (shared, pruning, ratios) = SweepCommand.Options();
        var extra = Extra.Make();
        var command = new Command("sweep", "A sweep's points as Slurm jobs");
        foreach (var o in shared.All.Concat([pruning, ratios]).Concat(extra.All)) command.Options.Add(o);
        command.SetAction(parse =>
        {
            var c = shared.Resolve(parse, parse.InvocationConfiguration.Error);
            c.Validate();
            return Submit("sweep", SweepCommand.ConfigOf(c, parse, pruning, ratios), parse, extra);
        });
        return command;
    }

    private static int Submit(string kind, StudyConfig config, ParseResult parse, Extra extra)
    {
        var w = parse.InvocationConfiguration.Output;
        bool json = parse.GetValue(extra.Json);
        var log = json ? TextWriter.Null : w;
        var harness = parse.GetValue(extra.Harness) is string h ? SlurmSubmitter.SplitArguments(h) : HarnessCommand.Current();
        if (harness.Count == 0) throw new ArgumentException("--harness: empty (expected the command that runs Harness, e.g. /opt/harness/harness)");
        var slurmArgs = SlurmSubmitter.SplitArguments(parse.GetValue(extra.SlurmArgs));
        // Planned on the CPU: the jobs' device need not exist where they are submitted.
        var runner = new StudyRunner(config, TorchSharp.torch.CPU, parse.InvocationConfiguration.Error);
        var submitter = new SlurmSubmitter(RunRecord.Of(kind, config), harness, slurmArgs, parse.GetValue(extra.Force));
        var plan = runner.Plan();
        var jobs = submitter.Jobs(plan, File.Exists(runner.ReportPath));
        if (jobs.Count == 0)
        {
            if (json) w.WriteLine(HarnessJson.Serialize(new { submitted = Array.Empty<object>() }));
            else w.WriteLine($"nothing to submit: the {plan.Count} experiments of {config.Output} are finished and {runner.ReportPath} is written");
            return 0;
        }
        if (parse.GetValue(extra.DryRun))
        {
            var placeholders = jobs.ToDictionary(j => j.Key, j => $"<{j.Key} job>");
            foreach (var job in jobs)
            {
                w.WriteLine($"# {job.Key}{SlurmSubmitter.Describe(job)}: sbatch {string.Join(' ', submitter.SbatchArguments(job, placeholders).Select(SlurmSubmitter.Quote))}");
                w.WriteLine(job.Script);
            }
            return 0;
        }
        var ids = submitter.Submit(jobs, new SbatchClient(), log);
        if (json) w.WriteLine(HarnessJson.Serialize(new { submitted = jobs.Select(j => new { key = j.Key, job = ids[j.Key], experiments = j.Experiments, script = j.ScriptPath }) }));
        else w.WriteLine($"scripts and logs: {submitter.Folder}{Path.DirectorySeparatorChar}; when the merge job ends: {runner.ReportPath}");
        return 0;
    }
}
