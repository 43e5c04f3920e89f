using Harness.Cluster;
using Harness.Experiments;
using Harness.Storage.Files;
using System.CommandLine;

namespace Harness.Cli.Commands;

/// <summary><c>report --out DIR</c>: report.md, the table images, the comparison chart (and a sweep's sweep.csv,
/// sweep.md and chart) rebuilt from the finished experiments of a study or sweep folder, without running anything —
/// the merge step of a study run as Slurm jobs.</summary>
public static class ReportCommand
{
    public static Command Create()
    {
        var outDir = new Option<string>("--out") { Description = "the output folder of a study or sweep (it holds harness-run.json)", Required = true };
        var json = CommonOptions.Json();
        var command = new Command("report",
            "Rebuild report.md, the tables and charts (a sweep's sweep.csv too) from an output folder's finished experiments; refuses, naming them, experiments that are missing or whose manifests disagree")
        { outDir, json };
        command.SetAction(parse =>
        {
            var w = parse.InvocationConfiguration.Output;
            var log = parse.GetValue(json) ? TextWriter.Null : w;
            string root = parse.GetValue(outDir)!;
            var record = RunRecord.Load(root);
            var config = Localise(record, root);
            var device = TorchSharp.torch.CPU;
            IReadOnlyList<object> rows;
            if (record.Command == "sweep")
            {
                var (methods, ratios) = SweepRunner.Of(config);
                var sweep = new SweepRunner(config, methods, ratios, device, log);
                sweep.Study.MissingReason = SlurmStatus.Reasons(config.Output, sweep.Study);
                rows = sweep.Report().Select(p => (object)new { method = p.Method?.ToString(), p.Ratio, metrics = p.Metrics }).ToList();
                log.WriteLine($"report:  {Path.Combine(config.Output, "report.md")}");
            }
            else
            {
                var runner = new StudyRunner(config, device, log);
                runner.MissingReason = SlurmStatus.Reasons(config.Output, runner);
                rows = runner.Report().Cast<object>().ToList();
                log.WriteLine($"report:  {runner.ReportPath}");
            }
            if (parse.GetValue(json)) w.WriteLine(HarnessJson.Serialize(rows));
            return 0;
        });
        return command;
    }

    /// <summary>The recorded configuration, its output being <paramref name="root"/>; run from another directory than
    /// the recorded one, its relative input paths are taken from the recorded directory.</summary>
    public static StudyConfig Localise(RunRecord record, string root)
    {
        var c = record.Config with { Output = root };
        if (Path.GetFullPath(record.WorkingDirectory) == Path.GetFullPath(Directory.GetCurrentDirectory())) return c;
        string From(string path) => Path.IsPathRooted(path) ? path : Path.GetFullPath(Path.Combine(record.WorkingDirectory, path));
        bool isFile(string w) => w is not ("none" or "imagenet") && !Harness.Model.Import.PretrainedOnnx.IsName(w);
        return c with
        {
            Data = From(c.Data),
            BaseModel = c.BaseModel is null ? null : From(c.BaseModel),
            Teacher = c.Teacher is null or "base" ? c.Teacher : From(c.Teacher),
            Weights = isFile(c.Weights) ? From(c.Weights) : c.Weights,
        };
    }
}
