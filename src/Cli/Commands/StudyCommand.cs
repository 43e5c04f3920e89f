using System.CommandLine;
using Harness.Experiments;
using Harness.Metrics;

namespace Harness.Cli.Commands;

/// <summary><c>study</c>: the study's five experiments in order, ending with report.md.</summary>
public static class StudyCommand
{
    public static Command Create()
    {
        var configPath = new Option<string?>("--config") { Description = "study configuration (JSON); defaults are the study's settings" };
        var data = new Option<string?>("--data") { Description = "data folder" };
        var weights = new Option<string?>("--weights") { Description = "initial weights of the base model: imagenet, none or a path" };
        var device = new Option<string?>("--device") { Description = "cpu, cuda or auto" };
        var output = new Option<string?>("--out") { Description = "output folder (models/, pruned_models/, metrics/, metrics_plots/, report.md)" };
        var imageSize = new Option<int?>("--image-size");
        var batch = new Option<int?>("--batch-size");
        var seed = new Option<ulong?>("--seed");
        var baseEpochs = new Option<int?>("--base-epochs");
        var fgEpochs = new Option<int?>("--fine-grained-epochs");
        var chEpochs = new Option<int?>("--channel-epochs");
        var trainSubset = new Option<int?>("--train-subset");
        var valSubset = new Option<int?>("--val-subset");
        var testSubset = new Option<int?>("--test-subset");
        var latencyRuns = new Option<int?>("--latency-runs");
        var freeze = new Option<string?>("--freeze") { Description = "comma-separated stage indices to freeze, or none" };
        var only = new Option<string[]>("--only") { Description = "run only these experiments (names)", AllowMultipleArgumentsPerToken = true };
        var printConfig = new Option<bool>("--print-config") { Description = "print the effective configuration and stop" };
        var json = CommonOptions.Json();
        var command = new Command("study", "Run the study: base, fine-grained 0.2/0.5, channel 0.2/0.8; metrics, plots and report.md")
        {
            configPath, data, weights, device, output, imageSize, batch, seed, baseEpochs, fgEpochs, chEpochs, trainSubset, valSubset,
            testSubset, latencyRuns, freeze, only, printConfig, json,
        };
        command.SetAction(parse =>
        {
            var w = parse.InvocationConfiguration.Output;
            var c = parse.GetValue(configPath) is string p ? StudyConfig.Load(p) : new StudyConfig();
            c = c with
            {
                Data = parse.GetValue(data) ?? c.Data, Weights = parse.GetValue(weights) ?? c.Weights, Device = parse.GetValue(device) ?? c.Device,
                Output = parse.GetValue(output) ?? c.Output, ImageSize = parse.GetValue(imageSize) ?? c.ImageSize,
                BatchSize = parse.GetValue(batch) ?? c.BatchSize, Seed = parse.GetValue(seed) ?? c.Seed,
                BaseEpochs = parse.GetValue(baseEpochs) ?? c.BaseEpochs, FineGrainedEpochs = parse.GetValue(fgEpochs) ?? c.FineGrainedEpochs,
                ChannelEpochs = parse.GetValue(chEpochs) ?? c.ChannelEpochs, TrainSubset = parse.GetValue(trainSubset) ?? c.TrainSubset,
                ValSubset = parse.GetValue(valSubset) ?? c.ValSubset, TestSubset = parse.GetValue(testSubset) ?? c.TestSubset,
                LatencyRuns = parse.GetValue(latencyRuns) ?? c.LatencyRuns,
                FrozenStages = parse.GetValue(freeze) is string f ? TrainCommand.ParseStages(f) : c.FrozenStages,
            };
            if (parse.GetValue(printConfig)) { w.WriteLine(c.ToJson()); return 0; }
            var runner = new StudyRunner(c, DeviceChoice.Parse(c.Device), parse.GetValue(json) ? TextWriter.Null : w);
            using var cancel = new CancellationTokenSource();
            ConsoleCancelEventHandler onCancel = (_, e) => { e.Cancel = true; cancel.Cancel(); };
            Console.CancelKeyPress += onCancel;
            try
            {
                var onlyNames = parse.GetValue(only) is { Length: > 0 } o ? o : null;
                var results = runner.Run(onlyNames, cancel.Token);
                if (parse.GetValue(json)) w.WriteLine(MetricsFiles.ToJson(results));
                else w.WriteLine($"report: {runner.ReportPath}");
                return cancel.IsCancellationRequested ? 130 : 0;
            }
            finally { Console.CancelKeyPress -= onCancel; }
        });
        return command;
    }
}
