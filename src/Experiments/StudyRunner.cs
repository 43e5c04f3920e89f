using Harness.Data;
using Harness.Experiments.Kinds;
using Harness.Metrics;
using Harness.Model;
using Harness.Model.Networks;
using Harness.Storage.Checkpoints;
using Harness.Storage.Files;
using Harness.Training;
using System.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace Harness.Experiments;

/// <summary>
/// Runs the study's experiments in order with the study's folders and file names: <c>models/</c> (base),
/// <c>pruned_models/</c>, <c>metrics/</c> (JSON/CSV per model), <c>metrics_plots/</c> (table and curve images,
/// comparison chart) and <c>report.md</c>. Each experiment records what made it in <c>runs/&lt;name&gt;/manifest.json</c>
/// (every effective setting, the data's content hash, the initial or base weights' SHA-256, versions): a finished
/// experiment is reused, and an interrupted one resumed from its last completed epoch, only when that manifest
/// matches the current settings; otherwise the run refuses, listing the differences, unless <paramref name="force"/>
/// asks to recompute.
/// </summary>
public sealed class StudyRunner(StudyConfig config, Device device, TextWriter log, bool force = false)
{
    public string Root => config.Output;
    public string ModelsDir => Path.Combine(Root, "models");
    public string PrunedDir => Path.Combine(Root, "pruned_models");
    public string MetricsDir => Path.Combine(Root, "metrics");
    public string PlotsDir => Path.Combine(Root, "metrics_plots");
    public string ReportPath => Path.Combine(Root, "report.md");
    public string BaseModelPath => config.BaseModel ?? Path.Combine(ModelsDir, ExperimentSpec.BaseNameOf(config.NetworkName) + ".pth");

    public string CheckpointOf(ExperimentSpec e) => e.Kind == ExperimentKind.Base ? BaseModelPath : Path.Combine(PrunedDir, e.Name + ".pth");
    public string MetricsPathOf(ExperimentSpec e) => Path.Combine(MetricsDir, e.Name + ".json");
    private long MacsOf(IPrunableNetwork n) => MacCounter.ThopMacs(n.Module, config.ImageSize);

    /// <summary>The distillation teacher's checkpoint: the base model for <c>teacher: base</c>.</summary>
    private string TeacherPath => config.Teacher == "base" ? BaseModelPath : config.Teacher!;

    public string ManifestPathOf(ExperimentSpec e) => Path.Combine(Root, "runs", e.Name, RunManifest.FileName);

    /// <summary>The manifest of an experiment under the current settings.</summary>
    public RunManifest ManifestOf(ExperimentSpec e, string dataIdentity)
    {
        static string F(double v) => v.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
        var settings = new Dictionary<string, string?>
        {
            ["experiment"] = e.Name,
            ["arch"] = config.NetworkName,
            ["kind"] = e.Kind.ToString(),
            ["amount"] = F(e.Amount),
            ["epochs"] = $"{e.Epochs}",
            ["data"] = dataIdentity,
            ["image_size"] = $"{config.ImageSize}",
            ["batch_size"] = $"{config.BatchSize}",
            ["seed"] = $"{config.Seed}",
            ["train_subset"] = config.TrainSubset?.ToString(),
            ["val_subset"] = config.ValSubset?.ToString(),
            ["test_subset"] = config.TestSubset?.ToString(),
            ["lr"] = F(config.LearningRateOf(e.Kind)),
            ["freeze"] = string.Join(",", config.FrozenStages),
            ["latency_runs"] = $"{config.LatencyRuns}",
        };
        if (e.Kind == ExperimentKind.Base)
        {
            settings["base_model"] = config.BaseModel is null ? null : Path.GetFullPath(config.BaseModel);
            settings["base_model_sha256"] = config.BaseModel is null ? null : RunManifest.HashOf(config.BaseModel);
            settings["weights"] = config.BaseModel is null ? config.Weights : null;
            settings["initial_weights_sha256"] = config.BaseModel is null && config.WeightsFile is { } w ? RunManifest.HashOf(w) : null;
        }
        else
        {
            settings["base_model_sha256"] = RunManifest.HashOf(BaseModelPath);
        }
        if (e.Kind != ExperimentKind.Base && config.PruningSteps > 1)
        {
            settings["pruning_steps"] = $"{config.PruningSteps}";
            settings["epochs_per_step"] = $"{config.EpochsPerStep ?? e.Epochs}";
        }
        else if (config.Teacher is not null)
        {
            settings["teacher"] = config.Teacher;
            settings["teacher_sha256"] = RunManifest.HashOf(TeacherPath);
            settings["kd_temperature"] = F(config.KdTemperature);
            settings["kd_alpha"] = F(config.KdAlpha);
        }
        // Recorded only when they differ from the study's StepLR, so that earlier manifests still match.
        if (config.LrStepSize != 5) settings["lr_step"] = $"{config.LrStepSize}";
        if (e.Kind != ExperimentKind.Base && config.FineTuneSubset is int ft) settings["fine_tune_subset"] = $"{ft}";
        if (config.LrGamma != 0.1) settings["lr_gamma"] = F(config.LrGamma);
        ExperimentProcedure.For(e.Kind).AddSettings(settings, e, config);
        return RunManifest.Create(settings, device.ToString());
    }

    /// <summary>Taken around each experiment a run makes (checked, run, recorded): the CLI's per-experiment lock, so that
    /// processes (Slurm array tasks) run different experiments of one folder together and refuse the same one.</summary>
    public Func<ExperimentSpec, IDisposable>? ExperimentLock { get; init; }

    /// <summary>Why a missing experiment is missing, when something outside the runner knows (a Slurm job's exit, which
    /// may depend on <see cref="DependenciesOf"/>: settable after construction).</summary>
    public Func<ExperimentSpec, string?>? MissingReason { get; set; }

    /// <summary>The experiments a pruned one needs first: the base experiment (none for the base itself, or when a
    /// given base model replaces it).</summary>
    public IReadOnlyList<string> DependenciesOf(ExperimentSpec e) =>
        e.Kind == ExperimentKind.Base || config.BaseModel is not null ? [] : [config.Experiments()[0].Name];

    private (LocatedDataset Data, string Identity) OpenData()
    {
        var located = DatasetLocator.Open(config.Data, log.WriteLine);
        return (located, $"{located.Layout}; train {DatasetFingerprint.Of(located.Train)}; test {DatasetFingerprint.Of(located.Test)}");
    }

    /// <summary>Where an experiment stands in <see cref="Root"/> under the current settings.</summary>
    public ExperimentState StateOf(ExperimentSpec e, RunManifest current)
    {
        if (!Started(e)) return ExperimentState.Pending;
        var recorded = RunManifest.Load(ManifestPathOf(e));
        if (recorded is null || recorded.Differences(current).Count > 0) return ExperimentState.Differs;
        return File.Exists(MetricsPathOf(e)) ? ExperimentState.Finished : ExperimentState.Resumable;
    }

    /// <summary>Whether an experiment left anything in <see cref="Root"/>: its metrics, or its manifest's folder.</summary>
    private bool Started(ExperimentSpec e) =>
        File.Exists(MetricsPathOf(e)) || Directory.Exists(Path.GetDirectoryName(ManifestPathOf(e)));

    /// <summary>The experiments a run would make, in order, with their dependencies, state and manifest settings. A
    /// pruned experiment whose base model is not trained yet shows its base model's hash as pending.</summary>
    public IReadOnlyList<PlannedExperiment> Plan()
    {
        var (_, identity) = OpenData();
        bool baseReady = File.Exists(BaseModelPath);
        return config.Experiments().Select(e =>
        {
            var manifest = ManifestOf(e, identity);
            var settings = new SortedDictionary<string, string>(manifest.Settings, StringComparer.Ordinal);
            if (e.Kind != ExperimentKind.Base && !baseReady) settings["base_model_sha256"] = "(the base experiment's model, once trained)";
            return new PlannedExperiment(e.Name, e.Kind.ToString(), e.Amount, e.Epochs, DependenciesOf(e),
                baseReady || e.Kind == ExperimentKind.Base ? StateOf(e, manifest) : ExperimentState.Pending,
                CheckpointOf(e), MetricsPathOf(e), settings);
        }).ToList();
    }

    /// <summary>Runs the experiments (all, or those named in <paramref name="only"/>) that are not finished with the
    /// current settings, then writes report.md over every finished one unless <paramref name="writeReport"/> is false
    /// (Slurm array tasks leave it to the merge job, <see cref="Report"/>).</summary>
    public IReadOnlyList<ModelMetrics> Run(IEnumerable<string>? only = null, CancellationToken cancel = default, bool writeReport = true)
    {
        var (located, dataIdentity) = OpenData();
        log.WriteLine($"data: {located.Description}");
        var (trainAll, valAll) = DatasetSplit.TrainValidation(located.Train, 0.9, config.Seed);
        var train = trainAll.Take(config.TrainSubset);
        var val = valAll.Take(config.ValSubset);
        var test = located.Test.Sample(config.TestSubset, config.Seed);
        int classes = located.Train.Classes.Count;
        var all = config.Experiments();
        var onlyList = only?.ToList();
        if (onlyList is not null && onlyList.FirstOrDefault(n => all.All(e => e.Name != n)) is { } unknown)
            throw new ArgumentException($"--only {unknown}: no such experiment (expected one of {string.Join(", ", all.Select(e => e.Name))})");
        var experiments = all.Where(e => onlyList is null || onlyList.Contains(e.Name)).ToList();
        for (int i = 0; i < experiments.Count; i++)
        {
            var e = experiments[i];
            if (cancel.IsCancellationRequested) break;
            using var held = ExperimentLock?.Invoke(e);
            var manifest = ManifestOf(e, dataIdentity);
            string manifestPath = ManifestPathOf(e);
            bool finished = File.Exists(MetricsPathOf(e)), started = Started(e);
            if (started && !File.Exists(manifestPath) && !force)
                throw new ArgumentException(
                    $"experiment {e.Name} in {Root} has results but no manifest (made by an earlier Harness), so its settings cannot be checked; pass --force to recompute it");
            bool reusable = RunManifest.Matches(manifestPath, manifest, force, log, $"experiment {e.Name}") && File.Exists(manifestPath);
            if (finished && reusable)
            {
                log.WriteLine($"[{i + 1}/{experiments.Count}] {e.Name}: finished earlier with the same settings ({MetricsPathOf(e)}), skipped");
                if (config.Int8 && MetricsFiles.ReadJson(MetricsPathOf(e))[0] is var recorded && recorded.Int8?.Calibration != Int8Description)
                    AddInt8(e, recorded, trainAll, test);
                continue;
            }
            if (started && !reusable) Discard(e);
            Directory.CreateDirectory(Path.GetDirectoryName(manifestPath)!);
            manifest.Save(manifestPath);
            log.WriteLine($"[{i + 1}/{experiments.Count}] {e.Name}: {Describe(e)}");
            RunOne(e, classes, train, val, test, trainAll, cancel);
        }
        var results = Finished(all);
        if (writeReport) WriteReport(results, all);
        return results;
    }

    private List<ModelMetrics> Finished(IReadOnlyList<ExperimentSpec> all) =>
        all.Where(e => File.Exists(MetricsPathOf(e))).Select(e => MetricsFiles.ReadJson(MetricsPathOf(e))[0]).ToList();

    /// <summary>Rebuilds report.md, the table images and the comparison chart from the finished experiments' files,
    /// without running anything. Refuses, naming them, experiments that are missing, unfinished, or whose manifest
    /// disagrees with the current settings (a pruned one made from another base model among them).</summary>
    public IReadOnlyList<ModelMetrics> Report()
    {
        var (_, identity) = OpenData();
        var all = config.Experiments();
        var problems = new List<string>();
        foreach (var e in all)
        {
            var manifest = ManifestOf(e, identity);
            var recorded = RunManifest.Load(ManifestPathOf(e));
            if (!File.Exists(MetricsPathOf(e)))
                problems.Add($"{e.Name} ({MissingReason?.Invoke(e) ?? (recorded is null ? "not run" : "not finished")})");
            else if (recorded is null)
                problems.Add($"{e.Name} (no manifest)");
            else if (recorded.Differences(manifest) is { Count: > 0 } diffs)
                problems.Add($"{e.Name} (made with other settings: {string.Join("; ", diffs)})");
        }
        if (problems.Count > 0)
            throw new ArgumentException($"report: {problems.Count} of {all.Count} experiments in {Root} are missing or disagree: {string.Join(", ", problems)}");
        var results = Finished(all);
        WriteReport(results, all);
        return results;
    }

    /// <summary>Removes what an earlier run of an experiment left (metrics, run state, its checkpoint — never a given
    /// base model), so that it is recomputed from scratch.</summary>
    private void Discard(ExperimentSpec e)
    {
        foreach (var f in new[] { MetricsPathOf(e), Path.Combine(MetricsDir, e.Name + ".csv"), Path.Combine(MetricsDir, e.Name + "_steps.csv") })
            if (File.Exists(f)) File.Delete(f);
        string runFolder = Path.Combine(Root, "runs", e.Name);
        if (Directory.Exists(runFolder)) Directory.Delete(runFolder, recursive: true);
        bool givenBase = e.Kind == ExperimentKind.Base && config.BaseModel is not null;
        if (!givenBase && File.Exists(CheckpointOf(e))) File.Delete(CheckpointOf(e));
    }

    private string Describe(ExperimentSpec e) => ExperimentProcedure.For(e.Kind).Describe(e, config);

    /// <summary>One experiment: its starting model (the study's weights for the base, the base model otherwise), its
    /// schedule of prune → fine-tune steps (<see cref="RunSchedule"/>), then the test and the measurements
    /// (<see cref="Record"/>).</summary>
    private void RunOne(ExperimentSpec e, int classes, ImageDataset train, ImageDataset val, ImageDataset test, ImageDataset trainAll,
        CancellationToken cancel)
    {
        var valLoader = new BatchLoader(val, config.BatchSize, false, new BatchTransform { ImageSize = config.ImageSize }, device, config.Seed);
        if (config.BaseModel is not null && !File.Exists(config.BaseModel))
            throw new FileNotFoundException($"--base-model '{config.BaseModel}': no such file", config.BaseModel);
        IPrunableNetwork model = e.Kind == ExperimentKind.Base && config.BaseModel is null
            ? ModelLoader.LoadNetwork(config.Weights, config.LoadArch, classes, seed: config.Seed)
            : ModelLoader.LoadNetwork(File.Exists(BaseModelPath)
                ? BaseModelPath
                : throw new FileNotFoundException($"the base model {BaseModelPath} is missing: run the base experiment first", BaseModelPath), config.LoadArch);
        try
        {
            ModelLoader.RequireClasses(model, classes, e.Kind == ExperimentKind.Base ? config.BaseModel ?? config.Weights : BaseModelPath);
            // For the curves of a pruned model: the base model's validation accuracy (the reference line) and the
            // pruned model's right after pruning (epoch 0). Both are recomputed whenever the experiment runs, so a
            // resumed run draws the same curves as an uninterrupted one.
            Evaluation? baseValidation = null;
            if (e.Kind != ExperimentKind.Base)
            {
                model.Module.to(device);
                baseValidation = Evaluator.Evaluate(model.Module, valLoader);
            }
            var outcome = RunSchedule(e, ref model, train, valLoader, baseValidation, cancel);
            if (outcome is null) return;
            model.Dispose();
            model = ModelLoader.LoadNetwork(outcome.Run.BestModelPath);
            model.Module.to(device);
            ExperimentProcedure.For(e.Kind).Finish(model, outcome.Run.BestModelPath, log);
            var testLoader = new BatchLoader(test, config.BatchSize, false, new BatchTransform { ImageSize = config.ImageSize }, device, config.Seed);
            Record(e, model, testLoader, outcome, baseValidation, classes, trainAll);
        }
        finally
        {
            model.Dispose();
        }
    }

    /// <summary>What an experiment's schedule leaves: its last training run (whose best model is the experiment's), the
    /// history over all steps, and the validation right after the first pruning step.</summary>
    private sealed record ScheduleOutcome(TrainingRun Run, IReadOnlyList<EpochRecord> History, Evaluation? AfterPruning);

    /// <summary>One step for the base model and one-shot pruning; K prune → fine-tune steps for iterative experiments,
    /// each resumable on its own (its state under runs/&lt;name&gt;/step-k/), each starting from the previous step's best
    /// model. The experiment's kind prunes each step. Null when training was interrupted.</summary>
    private ScheduleOutcome? RunSchedule(ExperimentSpec e, ref IPrunableNetwork model, ImageDataset train, BatchLoader valLoader,
        Evaluation? baseValidation, CancellationToken cancel)
    {
        if (e.Kind != ExperimentKind.Base) train = train.Take(config.FineTuneSubset);
        var trainLoader = new BatchLoader(train, config.BatchSize, true, new BatchTransform { ImageSize = config.ImageSize, Train = true }, device, config.Seed);
        var options = new TrainingOptions
        {
            Epochs = e.Epochs,
            BatchSize = config.BatchSize,
            ImageSize = config.ImageSize,
            Seed = config.Seed,
            FrozenStages = config.FrozenStages,
            LearningRate = config.LearningRateOf(e.Kind),
            StepSize = config.LrStepSize,
            Gamma = config.LrGamma,
        };
        // A given base model is evaluated as it is: no training state may touch (or restore over) that file.
        bool givenBase = e.Kind == ExperimentKind.Base && config.BaseModel is not null;
        using var teacher = e.Kind != ExperimentKind.Base && config.Teacher is not null ? ModelLoader.LoadNetwork(TeacherPath) : null;
        teacher?.Module.to(device);
        var objective = new TrainingObjective
        {
            Teacher = teacher?.Module,
            Temperature = config.KdTemperature,
            Alpha = config.KdAlpha,
            BatchNormL1 = e.Kind == ExperimentKind.Base ? config.BnL1 : 0,
        };
        var procedure = ExperimentProcedure.For(e.Kind);
        var schedule = PruningSchedule.For(e, config);
        int steps = schedule.Steps, epochsPerStep = schedule.EpochsPerStep;
        var state = new ScheduleState();
        Evaluation? afterPruning = null;
        var history = new List<EpochRecord>();
        var stepRows = new List<IReadOnlyList<object?>>();
        TrainingRun run = null!;
        for (int k = 1; k <= steps; k++)
        {
            if (k > 1)
            {
                model.Dispose();
                model = ModelLoader.LoadNetwork(run.BestModelPath);
                model.Module.to(device); // Taylor calibration feeds it batches on the device
            }
            double target = e.Amount;
            if (procedure.Prunes)
            {
                var step = new PruningStep(e, config, schedule, k, model, train, device, log) { State = state };
                if (k == 1) procedure.Begin(step);
                (model, target) = procedure.Prune(step);
            }
            model.Module.to(device);
            var after = procedure.Prunes ? Evaluator.Evaluate(model.Module, valLoader) : null;
            if (k == 1) afterPruning = after;
            if (after is not null)
                log.WriteLine($"  right after pruning{(steps > 1 ? $" (step {k}/{steps})" : "")}: Val Loss {after.Loss:F4} | Val Acc {100 * after.Accuracy:F2}% (base model {100 * baseValidation!.Accuracy:F2}%)");
            run = steps == 1
                ? new TrainingRun(e.Name, CheckpointOf(e), Path.Combine(Root, "runs", e.Name))
                : new TrainingRun($"{e.Name}_step{k}", k == steps ? CheckpointOf(e) : Path.Combine(Root, "runs", e.Name, $"step-{k}", "best.pth"),
                    Path.Combine(Root, "runs", e.Name, $"step-{k}"));
            var result = givenBase
                ? new TrainingResult([], double.NaN, Interrupted: false)
                : new Trainer(options with { Epochs = epochsPerStep }, log) { Objective = objective }.Train(model, trainLoader, valLoader, run, resume: true, cancel);
            if (result.Interrupted) return null;
            if (result.History.Count == 0 && !File.Exists(run.BestModelPath)) ModelLoader.Save(model, run.BestModelPath);
            var stepHistory = result.History.Count > 0 || givenBase ? result.History
                : File.Exists(run.HistoryBase + ".json") ? TrainingHistory.Load(run.HistoryBase + ".json") : [];
            history.AddRange(stepHistory.Select(h => h with { Epoch = h.Epoch + (k - 1) * epochsPerStep }));
            if (steps > 1)
            {
                model.Module.to(CPU);
                var (parameters, nonzero) = ParameterCounter.Count(model.Module);
                stepRows.Add([k, target, parameters, nonzero, MacsOf(model),
                    after?.Accuracy, stepHistory.Count > 0 ? stepHistory.Max(h => h.ValidationAccuracy) : (double?)null]);
            }
        }
        if (steps > 1)
            CsvTable.Write(Path.Combine(MetricsDir, e.Name + "_steps.csv"),
                ["step", procedure.StepQuantity, "parameters", "nonzero_parameters", "macs_thop",
                 "val_accuracy_after_pruning", "best_val_accuracy_after_fine_tuning"], stepRows);
        return new ScheduleOutcome(run, history, afterPruning);
    }

    /// <summary>The int8 calibration images of this run, made once (<see cref="WithInt8"/>).</summary>
    private IReadOnlyList<(float[] Data, int[] Shape)>? _calibration;

    private string Int8Description =>
        Int8Measurement.Describe(config.Int8Calibration, config.Int8CalibrationBatches, CalibrationImages.DefaultBatchSize, config.Seed);

    /// <summary>The int8 figures of a model (<see cref="Int8Measurement"/>), calibrated on the first batches of the
    /// whole training split (the same images for every experiment, whatever its training subset).</summary>
    private ModelMetrics WithInt8(ModelMetrics metrics, IPrunableNetwork model, ImageDataset trainAll, BatchLoader testLoader)
    {
        _calibration ??= CalibrationImages.FromImages(trainAll, config.Int8CalibrationBatches, CalibrationImages.DefaultBatchSize, config.ImageSize, config.Seed);
        log.WriteLine($"  int8: {Int8Description}");
        var quantization = new Harness.Export.Quantization.QuantizationOptions
        {
            Method = Harness.Export.Quantization.CalibrationMethods.Parse(config.Int8Calibration),
            CalibrationSource = "the study's training split",
            CalibrationImages = _calibration.Sum(b => b.Shape[0]),
        };
        var result = Int8Measurement.Measure(metrics, model, _calibration, quantization, Int8Description, testLoader,
            config.LatencyRuns, Math.Min(10, config.LatencyRuns), get_num_threads());
        log.WriteLine($"  int8: {result.Int8!.SizeMB:F2} MB, test acc {100 * result.Int8.TestAccuracy:F2}%, ORT median {result.Int8.Latency?.MedianMs:F2} ms (float {result.OnnxLatency?.MedianMs:F2} ms)");
        return result;
    }

    /// <summary>A finished experiment measured again for its int8 figures only (its training and float figures are
    /// the ones it has): <c>study --int8</c> over a study run without it.</summary>
    private void AddInt8(ExperimentSpec e, ModelMetrics recorded, ImageDataset trainAll, ImageDataset test)
    {
        using var model = ModelLoader.LoadNetwork(CheckpointOf(e));
        model.Module.to(device);
        var testLoader = new BatchLoader(test, config.BatchSize, false, new BatchTransform { ImageSize = config.ImageSize }, device, config.Seed);
        var metrics = WithInt8(recorded, model, trainAll, testLoader);
        MetricsFiles.WriteCsv(Path.Combine(MetricsDir, e.Name + ".csv"), [metrics]);
        SaveTable(metrics);
        MetricsFiles.WriteJson(MetricsPathOf(e), [metrics]);
    }

    /// <summary>The test, the measurements, the table image and the curves of a finished experiment; its metrics JSON
    /// is written last, its presence marking the experiment finished.</summary>
    private void Record(ExperimentSpec e, IPrunableNetwork model, BatchLoader testLoader, ScheduleOutcome outcome, Evaluation? baseValidation, int classes,
        ImageDataset trainAll)
    {
        var eval = Evaluator.Evaluate(model.Module, testLoader);
        log.WriteLine($"  Test Loss: {eval.Loss:F4} | Test Acc: {100 * eval.Accuracy:F2}%");
        model.Module.to(CPU);
        var metrics = MetricsCollector.Collect(e.Name, model.Module, new MetricsOptions(config.ImageSize, 1, config.LatencyRuns, Math.Min(10, config.LatencyRuns)),
            m => CheckpointSize.Measure(m, (x, p) => TorchCheckpoint.Save(p, x)), SparseCheckpoint.MeasureBytes, (eval.Loss, eval.Accuracy),
            (m, o) => Harness.Export.OnnxRuntimeLatency.Measure((IPrunableNetwork)m, o.ImageSize, o.BatchSize, o.Runs, o.Warmup, get_num_threads()));
        if (config.Int8) metrics = WithInt8(metrics, model, trainAll, testLoader);
        MetricsFiles.WriteCsv(Path.Combine(MetricsDir, e.Name + ".csv"), [metrics]);
        SaveTable(metrics);
        var history = outcome.History;
        if (history.Count > 0)
            MetricsPlots.SaveTrainingCurves(new TrainingCurves(history.Select(h => h.Epoch).ToList(), history.Select(h => h.TrainLoss).ToList(),
                history.Select(h => h.ValidationLoss).ToList(), history.Select(h => h.TrainAccuracy).ToList(), history.Select(h => h.ValidationAccuracy).ToList())
            {
                Initial = outcome.AfterPruning is null ? null : (outcome.AfterPruning.Loss, outcome.AfterPruning.Accuracy),
                BaseAccuracy = baseValidation?.Accuracy,
                ChanceAccuracy = 1.0 / classes,
            },
                MetricsPlots.CurvesPath(PlotsDir, e.Name), e.Name);
        MetricsFiles.WriteJson(MetricsPathOf(e), [metrics]);
    }

    private void WriteReport(IReadOnlyList<ModelMetrics> results, IReadOnlyList<ExperimentSpec> all)
    {
        var md = new StringBuilder("# Study report\n\n");
        md.AppendLine($"Network {config.NetworkName}, data `{config.Data}`, weights `{config.Weights}`, image size {config.ImageSize}, batch {config.BatchSize}, seed {config.Seed}.");
        md.AppendLine();
        if (results.Count == 0)
        {
            md.AppendLine("No experiment has finished yet.");
        }
        else
        {
            md.AppendLine(MetricsTable.Build(results).ToMarkdown());
            if (PaperComparison.Markdown(all, results) is { } paper)
            {
                md.AppendLine("### Beside the paper\n");
                md.AppendLine("The study's published figures (EfficientNet-B0 pretrained on ImageNet, CIFAR-10 at 224 px) next to this run's; " +
                              "networks and image sizes differ, so compare the ratios to each base model (×base) and the accuracy change (Δ base). " +
                              "A fine-grained model's size is its sparse checkpoint's.\n");
                md.AppendLine(paper);
            }
            string comparison = MetricsPlots.ComparisonPath(PlotsDir, "study");
            MetricsPlots.SaveComparison(results, comparison);
            md.AppendLine($"![accuracy against FLOPs and size]({Path.GetRelativePath(Root, comparison)})");
            md.AppendLine();
            foreach (var e in all.Where(e => results.Any(r => r.Name == e.Name)))
            {
                // Drawn again from the metrics file, so the images always show what the files hold.
                SaveTable(results.First(r => r.Name == e.Name));
                md.AppendLine($"## {e.Name}\n");
                md.AppendLine($"![metrics]({Path.GetRelativePath(Root, MetricsPlots.TablePath(PlotsDir, e.Name))})");
                string curves = MetricsPlots.CurvesPath(PlotsDir, e.Name);
                if (File.Exists(curves)) md.AppendLine($"\n![training and validation]({Path.GetRelativePath(Root, curves)})");
                md.AppendLine();
            }
            AppendProvenance(md, all.Where(e => results.Any(r => r.Name == e.Name)).ToList());
        }
        AtomicFile.WriteAllText(ReportPath, md.ToString());
    }

    /// <summary>A model's metrics image: metric/value rows, the paper's per-model table.</summary>
    private void SaveTable(ModelMetrics metrics) =>
        MetricsPlots.SaveTable(MetricsTable.Build([metrics]).ByMetric(), MetricsPlots.TablePath(PlotsDir, metrics.Name), metrics.Name);

    /// <summary>What produced the results: each experiment's recorded settings and the environment (versions,
    /// threads, device, machine) from its manifest.</summary>
    private void AppendProvenance(StringBuilder md, IReadOnlyList<ExperimentSpec> experiments)
    {
        var manifests = experiments.Select(e => (e.Name, Manifest: File.Exists(ManifestPathOf(e)) ? RunManifest.Load(ManifestPathOf(e)) : null))
            .Where(m => m.Manifest is not null).ToList();
        if (manifests.Count == 0) return;
        md.AppendLine("## Provenance\n");
        md.AppendLine($"Recorded in each experiment's `runs/<name>/manifest.json`. Environment of {manifests[0].Name}:\n");
        md.AppendLine("| environment | value |\n| --- | --- |");
        foreach (var (k, v) in manifests[0].Manifest!.Environment) md.AppendLine($"| {k} | {v.Replace("|", "\\|")} |");
        md.AppendLine();
        var keys = manifests.SelectMany(m => m.Manifest!.Settings.Keys).Distinct().Order(StringComparer.Ordinal).ToList();
        md.AppendLine("| setting | " + string.Join(" | ", manifests.Select(m => m.Name)) + " |");
        md.AppendLine("| --- |" + string.Concat(manifests.Select(_ => " --- |")));
        foreach (var k in keys)
            md.AppendLine($"| {k} | " + string.Join(" | ", manifests.Select(m => m.Manifest!.Settings.TryGetValue(k, out var v) ? Shorten(v).Replace("|", "\\|") : "")) + " |");
        md.AppendLine();
    }

    /// <summary>Hashes shortened to their first 12 hex digits (the manifest keeps them whole).</summary>
    private static string Shorten(string value) =>
        System.Text.RegularExpressions.Regex.Replace(value, "[0-9a-f]{17,}", m => m.Value[..12] + "…");
}
