using Harness.Metrics;
using Harness.Storage.Files;
using System.Globalization;
using System.Text;
using static TorchSharp.torch;

namespace Harness.Experiments;

/// <summary>The pruning methods a sweep can run over a list of ratios. Latency: channel pruning to a measured latency
/// target, the ratio being the share of the base model's latency removed (ratio 0.7: target 0.3).</summary>
public enum SweepMethod { FineGrained, Channel, Latency }

/// <summary>One measured model of a sweep: the base model (no method, ratio 0) or a pruned, fine-tuned one.</summary>
public sealed record SweepPoint(SweepMethod? Method, double Ratio, ModelMetrics Metrics);

/// <summary>
/// Runs fine-grained (global L1, made permanent) and/or channel (L1, round_to) pruning of one base model at each of
/// a list of ratios, each point fine-tuned for a few epochs (0: one-shot, a sensitivity curve) and measured like a
/// study experiment. Every point is an experiment of the study runner (same folders, files, skip and resume), so
/// an interrupted sweep resumes where it stopped. Ends with <c>sweep.csv</c>, <c>sweep.md</c> and one chart of
/// test accuracy against effective FLOPs and against size, one line per method.
/// </summary>
public sealed class SweepRunner
{
    private readonly StudyConfig _config;
    private readonly TextWriter _log;

    /// <summary>A sweep of <paramref name="methods"/> over <paramref name="ratios"/>; each point is fine-tuned for the
    /// configuration's <see cref="StudyConfig.FineGrainedEpochs"/> or <see cref="StudyConfig.ChannelEpochs"/>.</summary>
    public SweepRunner(StudyConfig config, IReadOnlyList<SweepMethod> methods, IReadOnlyList<double> ratios,
        Device device, TextWriter log, bool force = false, Func<ExperimentSpec, IDisposable>? experimentLock = null)
    {
        if (methods.Count == 0) throw new ArgumentException("--pruning: give at least one of fine-grained, channel");
        if (ratios.Count == 0) throw new ArgumentException("--ratios: give at least one ratio, e.g. 0.1,0.5,0.9");
        foreach (var r in ratios)
            if (double.IsNaN(r) || r <= 0 || r >= 1) throw new ArgumentException($"--ratios: {r.ToString(CultureInfo.InvariantCulture)} must lie in (0, 1)");
        if (ratios.Distinct().Count() != ratios.Count) throw new ArgumentException("--ratios: a ratio is given twice");
        if (config.FineGrainedEpochs < 0) throw new ArgumentException($"--fine-grained-epochs {config.FineGrainedEpochs}: must be 0 or more");
        if (config.ChannelEpochs < 0) throw new ArgumentException($"--channel-epochs {config.ChannelEpochs}: must be 0 or more");
        var sorted = ratios.Order().ToArray();
        Methods = methods.Distinct().ToList();
        _config = config with
        {
            FineGrainedAmounts = Methods.Contains(SweepMethod.FineGrained) ? sorted : [],
            ChannelRatios = Methods.Contains(SweepMethod.Channel) ? sorted : [],
            ChannelTargetLatency = Methods.Contains(SweepMethod.Latency) ? sorted.Select(r => Math.Round(1 - r, 10)).ToArray() : [],
        };
        _log = log;
        Study = new StudyRunner(_config, device, log, force) { ExperimentLock = experimentLock };
    }

    public IReadOnlyList<SweepMethod> Methods { get; }
    /// <summary>The study configuration the sweep runs (its experiments are the sweep's points).</summary>
    public StudyConfig Config => _config;
    /// <summary>The study runner whose experiments are the sweep's points.</summary>
    public StudyRunner Study { get; }
    public string CsvPath => Path.Combine(_config.Output, "sweep.csv");
    public string ReportPath => Path.Combine(_config.Output, "sweep.md");
    public string ChartPath => Path.Combine(_config.Output, "metrics_plots", "sweep_accuracy_vs_flops_and_size.png");

    /// <summary>Runs the sweep's points (all, or those named in <paramref name="only"/>), then writes sweep.csv, sweep.md,
    /// the chart and report.md unless <paramref name="writeReport"/> is false (Slurm array tasks leave them to
    /// <see cref="Report"/>).</summary>
    public IReadOnlyList<SweepPoint> Run(CancellationToken cancel = default, IEnumerable<string>? only = null, bool writeReport = true)
    {
        var points = Points(Study.Run(only, cancel, writeReport));
        if (cancel.IsCancellationRequested || points.Count == 0 || !writeReport) return points;
        WriteOutputs(points);
        return points;
    }

    /// <summary>Rebuilds sweep.csv, sweep.md, the chart and report.md from the finished points' files; refuses, naming
    /// them, points that are missing or whose manifests disagree (<see cref="StudyRunner.Report"/>).</summary>
    public IReadOnlyList<SweepPoint> Report()
    {
        var points = Points(Study.Report());
        WriteOutputs(points);
        return points;
    }

    private List<SweepPoint> Points(IReadOnlyList<ModelMetrics> measured)
    {
        var results = measured.ToDictionary(m => m.Name);
        var points = new List<SweepPoint>();
        foreach (var e in _config.Experiments())
        {
            if (!results.TryGetValue(e.Name, out var m)) continue;
            SweepMethod? method = e.Kind switch
            {
                ExperimentKind.FineGrained => SweepMethod.FineGrained,
                ExperimentKind.Channel or ExperimentKind.Slimming or ExperimentKind.ChannelBudget => SweepMethod.Channel,
                ExperimentKind.ChannelLatency => SweepMethod.Latency,
                _ => null,
            };
            points.Add(new SweepPoint(method, method == SweepMethod.Latency ? Math.Round(1 - e.Amount, 10) : e.Amount, m));
        }
        return points;
    }

    private void WriteOutputs(IReadOnlyList<SweepPoint> points)
    {
        AtomicFile.WriteAllText(CsvPath, ToCsv(points));
        var series = Methods.Select(method => (Label(method, _config),
            (IReadOnlyList<(double Ratio, ModelMetrics Metrics)>)points.Where(p => p.Method is null || p.Method == method)
                .Select(p => (p.Ratio, p.Metrics)).ToList())).ToList();
        if (points.Any(p => p.Metrics.TestAccuracy is not null))
            MetricsPlots.SaveSweep(series, ChartPath);
        AtomicFile.WriteAllText(ReportPath, ToMarkdown(points));
        _log.WriteLine($"sweep: {CsvPath}, {ChartPath}, {ReportPath}");
    }

    /// <summary>The methods and ratios a study configuration's experiments sweep (inverse of the constructor's
    /// mapping): fine-grained when it has fine-grained amounts, channel when it has channel ratios.</summary>
    public static (IReadOnlyList<SweepMethod> Methods, IReadOnlyList<double> Ratios) Of(StudyConfig config)
    {
        var methods = new List<SweepMethod>();
        if (config.FineGrainedAmounts.Length > 0) methods.Add(SweepMethod.FineGrained);
        if (config.ChannelRatios.Length > 0) methods.Add(SweepMethod.Channel);
        if (config.ChannelTargetLatency.Length > 0) methods.Add(SweepMethod.Latency);
        return (methods, config.FineGrainedAmounts.Concat(config.ChannelRatios).Concat(config.ChannelTargetLatency.Select(t => Math.Round(1 - t, 10)))
            .Distinct().Order().ToList());
    }

    public static string Label(SweepMethod method, StudyConfig config) => method switch
    {
        SweepMethod.FineGrained => "fine-grained (global L1, permanent)",
        SweepMethod.Latency => $"channel to a latency target ({config.LatencyRuntime}, batch {config.LatencyBatchSize}; ratio = latency removed)",
        _ => $"channel (L1, round_to {config.RoundTo}{(config.NeverUntouched ? ", never untouched" : "")})",
    };

    private static string MethodName(SweepMethod? m) => m switch
    {
        SweepMethod.FineGrained => "fine-grained",
        SweepMethod.Channel => "channel",
        SweepMethod.Latency => "latency",
        _ => "base",
    };

    private static IEnumerable<string[]> Rows(IReadOnlyList<SweepPoint> points) => points.Select(p =>
    {
        var m = p.Metrics;
        return new[]
        {
            MethodName(p.Method), F(p.Ratio, "0.###"), m.Parameters.ToString(CultureInfo.InvariantCulture),
            F(100 * m.Sparsity, "0.00"), F(2 * m.EffectiveMacs(MacConvention.Thop) / 1e9, "0.0000"), F(m.SizeMB, "0.000"),
            m.SparseSizeMB is double s ? F(s, "0.000") : "",
            m.Latency is { } l ? F(l.MedianMs, "0.000") : "",
            m.OnnxLatency is { } o ? F(o.MedianMs, "0.000") : "",
            m.TestLoss is double loss ? F(loss, "0.0000") : "",
            m.TestAccuracy is double acc ? F(100 * acc, "0.00") : "",
            m.Int8 is { } q ? F(q.SizeMB, "0.000") : "",
            m.Int8?.Latency is { } ql ? F(ql.MedianMs, "0.000") : "",
            m.Int8?.TestAccuracy is double qa ? F(100 * qa, "0.00") : "",
        };
    });

    private static readonly string[] Header =
        ["method", "ratio", "parameters", "sparsity %", "effective GFLOPs (thop)", "size MB", "sparse size MB", "latency median ms", "ONNX Runtime latency median ms", "test loss", "test accuracy %",
         "int8 size MB", "ORT int8 latency median ms", "int8 test accuracy %"];

    /// <summary>The Markdown columns: the int8 ones only where some point was quantized.</summary>
    private static int Columns(IReadOnlyList<SweepPoint> points) => points.Any(p => p.Metrics.Int8 is not null) ? Header.Length : Header.Length - 3;

    private static readonly string[] CsvHeader =
    [
        "method", "ratio", "parameters", "nonzero_parameters", "sparsity", "effective_macs_thop", "effective_flops_thop",
        "size_bytes", "sparse_size_bytes", "latency_median_ms", "onnx_latency_median_ms", "test_loss", "test_accuracy",
        "int8_size_bytes", "int8_latency_median_ms", "int8_test_accuracy",
    ];

    /// <summary>The sweep as CSV (<see cref="CsvTable"/>: snake_case columns, full precision, fractions not percent);
    /// the Markdown report holds the rounded table for reading.</summary>
    public static string ToCsv(IReadOnlyList<SweepPoint> points) => CsvTable.Format(CsvHeader, points.Select(p =>
    {
        var m = p.Metrics;
        return (IReadOnlyList<object?>)new object?[]
        {
            MethodName(p.Method), p.Ratio, m.Parameters, m.NonzeroParameters, m.Sparsity, m.EffectiveMacs(MacConvention.Thop),
            2 * m.EffectiveMacs(MacConvention.Thop), m.SizeBytes, m.SparseSizeBytes, m.Latency?.MedianMs, m.OnnxLatency?.MedianMs,
            m.TestLoss, m.TestAccuracy, m.Int8?.SizeBytes, m.Int8?.Latency?.MedianMs, m.Int8?.TestAccuracy,
        };
    }));

    private string ToMarkdown(IReadOnlyList<SweepPoint> points)
    {
        var sb = new StringBuilder("# Pruning sweep\n\n");
        sb.AppendLine($"Base model `{Study.BaseModelPath}`, data `{_config.Data}`, image size {_config.ImageSize}, " +
                      $"fine-tuning epochs per point: {_config.FineGrainedEpochs} fine-grained, {_config.ChannelEpochs} channel; seed {_config.Seed}.");
        sb.AppendLine();
        int columns = Columns(points);
        sb.AppendLine("| " + string.Join(" | ", Header.Take(columns)) + " |");
        sb.AppendLine("|" + string.Concat(Header.Take(columns).Select(_ => " --- |")));
        foreach (var row in Rows(points)) sb.AppendLine("| " + string.Join(" | ", row.Take(columns)) + " |");
        sb.AppendLine();
        if (File.Exists(ChartPath))
            sb.AppendLine($"![accuracy against FLOPs and size]({Path.GetRelativePath(_config.Output, ChartPath).Replace('\\', '/')})");
        return sb.ToString();
    }

    private static string F(double v, string format) => v.ToString(format, CultureInfo.InvariantCulture);
}
