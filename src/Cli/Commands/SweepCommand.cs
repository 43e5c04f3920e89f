using Harness.Experiments;
using Harness.Storage.Files;
using System.CommandLine;
using System.Globalization;

namespace Harness.Cli.Commands;

/// <summary><c>sweep</c>: fine-grained and/or channel pruning of one base model over a list of ratios; one chart of
/// accuracy against FLOPs and against size.</summary>
public static class SweepCommand
{
    public static Command Create()
    {
        var (shared, pruning, ratios) = Options();
        var printConfig = new Option<bool>("--print-config") { Description = "print the effective configuration and stop" };
        var plan = StudyCommand.PlanOption();
        var noReport = StudyCommand.NoReportOption();
        var only = new Option<string[]>("--only") { Description = "run only these points (names as --plan lists them; default: all)", AllowMultipleArgumentsPerToken = true };
        var json = CommonOptions.Json();
        var force = CommonOptions.Force();
        var command = new Command("sweep", "Prune one base model at each of a list of ratios (fine-grained and channel); accuracy vs FLOPs and size chart");
        foreach (var o in shared.All.Concat([pruning, ratios, only, printConfig, plan, noReport, json, force])) command.Options.Add(o);
        command.SetAction(parse =>
        {
            var w = parse.InvocationConfiguration.Output;
            var c = shared.Resolve(parse);
            c.Validate();
            var device = DeviceChoice.Parse(c.Device);
            if (device.type == TorchSharp.DeviceType.CPU) InputRules.CheckActivationMemory(c.ImageSize, c.BatchSize, training: true);
            var sweep = new SweepRunner(c, ParseMethods(parse.GetValue(pruning) ?? []), ParseRatios(parse.GetValue(ratios)!),
                device, parse.GetValue(json) ? TextWriter.Null : w, parse.GetValue(force),
                RunPlans.Locks(c.Output, parse.GetValue(json) ? TextWriter.Null : w));
            if (parse.GetValue(printConfig)) { w.WriteLine(sweep.Config.ToJson()); return 0; }
            if (parse.GetValue(plan))
            {
                RunPlans.Print(sweep.Config, new StudyRunner(sweep.Config, device, parse.InvocationConfiguration.Error).Plan(), parse.GetValue(json), w);
                return 0;
            }
            return CliRunner.WithCancellation(token =>
            {
                Directory.CreateDirectory(c.Output);
                RunRecord.Record("sweep", sweep.Config);
                var onlyNames = parse.GetValue(only) is { Length: > 0 } o ? o : null;
                var points = sweep.Run(token, onlyNames, writeReport: !parse.GetValue(noReport));
                if (parse.GetValue(json))
                    w.WriteLine(HarnessJson.Serialize(points.Select(p => new { method = p.Method?.ToString(), p.Ratio, metrics = p.Metrics })));
                else
                    w.Write(File.Exists(sweep.CsvPath) ? File.ReadAllText(sweep.CsvPath) : "");
                return 0;
            });
        });
        return command;
    }

    /// <summary>The options that define a sweep (shared with <c>slurm submit sweep</c>).</summary>
    public static (StudyOptions Shared, Option<string[]> Pruning, Option<string> Ratios) Options()
    {
        var shared = new StudyOptions("output folder (sweep.csv, sweep.md, metrics/, metrics_plots/, pruned_models/)",
            new StudyConfig { Output = "sweep", LatencyRuns = 20, FineGrainedEpochs = 0, ChannelEpochs = 0 });
        var pruning = new Option<string[]>("--pruning")
        {
            Description = "fine-grained, channel, latency (channel pruning to a measured latency target: --ratios are the share of the base's latency removed, measured as the study's --latency-runtime and --latency-batch-size say) or both (fine-grained and channel; default: both)",
            AllowMultipleArgumentsPerToken = true,
        };
        var ratios = new Option<string>("--ratios")
        {
            Description = "comma-separated ratios in (0, 1): the fine-grained ratio (amount) and the channel pruning ratio",
            DefaultValueFactory = _ => "0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9",
        };
        return (shared, pruning, ratios);
    }

    /// <summary>The study configuration a sweep runs: <paramref name="config"/> with the methods' ratios.</summary>
    public static StudyConfig ConfigOf(StudyConfig config, ParseResult parse, Option<string[]> pruning, Option<string> ratios) =>
        new SweepRunner(config, ParseMethods(parse.GetValue(pruning) ?? []), ParseRatios(parse.GetValue(ratios)!), TorchSharp.torch.CPU, TextWriter.Null).Config;

    public static IReadOnlyList<SweepMethod> ParseMethods(IEnumerable<string> values)
    {
        var list = values.SelectMany(v => v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToList();
        if (list.Count == 0) return [SweepMethod.FineGrained, SweepMethod.Channel];
        return list.SelectMany(v => v.ToLowerInvariant() switch
        {
            "fine-grained" or "finegrained" or "unstructured" => new[] { SweepMethod.FineGrained },
            "channel" or "structured" => [SweepMethod.Channel],
            "latency" => [SweepMethod.Latency],
            "both" => [SweepMethod.FineGrained, SweepMethod.Channel],
            _ => throw new ArgumentException($"--pruning '{v}': expected fine-grained, channel, latency or both"),
        }).Distinct().ToList();
    }

    public static IReadOnlyList<double> ParseRatios(string value) =>
        value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(v =>
            double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out double r)
                ? r
                : throw new ArgumentException($"--ratios: '{v}' is not a number (expected e.g. 0.1,0.5,0.9)")).ToList();
}
