using Harness.Experiments;
using Harness.Storage.Files;
using System.CommandLine;

namespace Harness.Cli.Commands;

/// <summary><c>study</c>: the study's five experiments in order, ending with report.md.</summary>
public static class StudyCommand
{
    public static Command Create()
    {
        var shared = new StudyOptions("output folder (models/, pruned_models/, metrics/, metrics_plots/, report.md)", new StudyConfig());
        var only = new Option<string[]>("--only") { Description = "run only these experiments (names as in report.md; default: all)", AllowMultipleArgumentsPerToken = true };
        var printConfig = new Option<bool>("--print-config") { Description = "print the effective configuration and stop" };
        var plan = PlanOption();
        var noReport = NoReportOption();
        var json = CommonOptions.Json();
        var force = CommonOptions.Force();
        var command = new Command("study", "Run the study: base, fine-grained 0.2/0.5, channel 0.2/0.8; metrics, plots and report.md");
        foreach (var o in shared.All.Concat([only, printConfig, plan, noReport, json, force])) command.Options.Add(o);
        command.SetAction(parse =>
        {
            var w = parse.InvocationConfiguration.Output;
            var c = shared.Resolve(parse, parse.GetValue(json) || parse.GetValue(printConfig) ? parse.InvocationConfiguration.Error : w);
            c.Validate();
            if (parse.GetValue(printConfig)) { w.WriteLine(c.ToJson()); return 0; }
            var device = DeviceChoice.Parse(c.Device);
            if (device.type == TorchSharp.DeviceType.CPU) InputRules.CheckActivationMemory(c.ImageSize, c.BatchSize, training: true);
            var log = parse.GetValue(json) ? TextWriter.Null : w;
            if (parse.GetValue(plan))
            {
                RunPlans.Print(c, new StudyRunner(c, device, parse.InvocationConfiguration.Error).Plan(), parse.GetValue(json), w);
                return 0;
            }
            var runner = new StudyRunner(c, device, log, parse.GetValue(force)) { ExperimentLock = RunPlans.Locks(c.Output, log) };
            return CliRunner.WithCancellation(token =>
            {
                Directory.CreateDirectory(c.Output);
                RunRecord.Record("study", c);
                var onlyNames = parse.GetValue(only) is { Length: > 0 } o ? o : null;
                var results = runner.Run(onlyNames, token, writeReport: !parse.GetValue(noReport));
                if (parse.GetValue(json)) w.WriteLine(HarnessJson.Serialize(results));
                else
                {
                    if (!parse.GetValue(noReport)) w.WriteLine($"report:  {runner.ReportPath}");
                    w.WriteLine($"plots:   {runner.PlotsDir}{Path.DirectorySeparatorChar}");
                    w.WriteLine($"models:  {runner.ModelsDir}{Path.DirectorySeparatorChar} (base), {runner.PrunedDir}{Path.DirectorySeparatorChar} (pruned)");
                    w.WriteLine($"metrics: {runner.MetricsDir}{Path.DirectorySeparatorChar} (JSON and CSV per model)");
                }
                return 0;
            });
        });
        return command;
    }

    /// <summary><c>--plan</c>: list the experiments instead of running them.</summary>
    public static Option<bool> PlanOption() => new("--plan")
    {
        Description = "list the experiments a run would make (in order, with what each needs first, where each stands in --out and, with --json, its manifest's settings) and stop",
    };

    /// <summary><c>--no-report</c>: leave the report to <c>harness report</c> (Slurm array tasks).</summary>
    public static Option<bool> NoReportOption() => new("--no-report")
    {
        Description = "run the experiments but leave report.md and the charts to 'harness report --out DIR' (what Slurm array tasks do)",
    };
}
