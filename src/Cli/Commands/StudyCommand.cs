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
        var json = CommonOptions.Json();
        var force = CommonOptions.Force();
        var command = new Command("study", "Run the study: base, fine-grained 0.2/0.5, channel 0.2/0.8; metrics, plots and report.md");
        foreach (var o in shared.All.Concat([only, printConfig, json, force])) command.Options.Add(o);
        command.SetAction(parse =>
        {
            var w = parse.InvocationConfiguration.Output;
            var c = shared.Resolve(parse, parse.GetValue(json) || parse.GetValue(printConfig) ? parse.InvocationConfiguration.Error : w);
            c.Validate();
            if (parse.GetValue(printConfig)) { w.WriteLine(c.ToJson()); return 0; }
            var device = DeviceChoice.Parse(c.Device);
            if (device.type == TorchSharp.DeviceType.CPU) InputRules.CheckActivationMemory(c.ImageSize, c.BatchSize, training: true);
            var runner = new StudyRunner(c, device, parse.GetValue(json) ? TextWriter.Null : w, parse.GetValue(force));
            return CliRunner.WithCancellation(token =>
            {
                using var outputLock = OutputLock.Acquire(c.Output, parse.GetValue(json) ? TextWriter.Null : w);
                var onlyNames = parse.GetValue(only) is { Length: > 0 } o ? o : null;
                var results = runner.Run(onlyNames, token);
                if (parse.GetValue(json)) w.WriteLine(HarnessJson.Serialize(results));
                else
                {
                    w.WriteLine($"report:  {runner.ReportPath}");
                    w.WriteLine($"plots:   {runner.PlotsDir}{Path.DirectorySeparatorChar}");
                    w.WriteLine($"models:  {runner.ModelsDir}{Path.DirectorySeparatorChar} (base), {runner.PrunedDir}{Path.DirectorySeparatorChar} (pruned)");
                    w.WriteLine($"metrics: {runner.MetricsDir}{Path.DirectorySeparatorChar} (JSON and CSV per model)");
                }
                return 0;
            });
        });
        return command;
    }
}
