using Harness.Export.Quantization;
using Harness.Metrics;
using Harness.Model;
using Harness.Storage.Checkpoints;
using Harness.Storage.Files;
using System.CommandLine;

namespace Harness.Cli.Commands;

/// <summary><c>metrics</c>: measures one model (size, MACs under both conventions, latency, memory) and writes
/// the record (JSON, CSV) and the table image.</summary>
public static class MetricsCommand
{
    public static Command Create()
    {
        var weights = CommonOptions.Weights();
        var arch = CommonOptions.Arch();
        var classes = CommonOptions.Classes();
        var json = CommonOptions.Json();
        var imageSize = new Option<int>("--image-size") { Description = "input side for MACs, latency and memory", DefaultValueFactory = _ => 224 }.ImageSide();
        var runs = new Option<int>("--runs") { Description = "timed forward passes (0 skips timing)", DefaultValueFactory = _ => 100 }.AtLeast(0);
        var batch = new Option<int>("--batch-size") { Description = "images per timed pass", DefaultValueFactory = _ => 1 }.AtLeast(1);
        var convention = new Option<MacConvention>("--convention") { Description = "MAC convention of the table: Thop or TorchProfile", DefaultValueFactory = _ => MacConvention.Thop };
        var runtime = new Option<string>("--runtime") { Description = "where latency is timed: torch (TorchSharp eager), onnx (the exported model in ONNX Runtime, BatchNorm folded) or both", DefaultValueFactory = _ => "torch" };
        runtime.OneOf("torch", "onnx", "both");
        var name = new Option<string?>("--name") { Description = "model name in tables and file names (default: from --weights)" }.PlainName();
        var outDir = new Option<string?>("--out") { Description = "folder for the table image, the metrics JSON/CSV and (with --data) the per-class files, created if missing (default: none, nothing written)" };
        var data = new Option<string?>("--data") { Description = "test data (as train/evaluate read it): fills the test loss and accuracy columns and writes the per-class accuracy and confusion matrix (default: none, no accuracy)" };
        var testSubset = new Option<int?>("--test-subset") { Description = "with --data: N test images drawn with --seed (default: all)" }.AtLeast(1);
        var seed = new Option<ulong>("--seed") { Description = "with --data: seed of the test subset (and of the split whose training images calibrate --int8)", DefaultValueFactory = _ => 42UL };
        var int8 = new Option<bool>("--int8") { Description = "also quantize the model to int8 (static QDQ, calibrated on --data's training split) and measure its size, ONNX Runtime latency (timed beside the float export) and test accuracy" };
        var calibration = new Option<string>("--calibration") { Description = "with --int8: minmax, percentile or entropy", DefaultValueFactory = _ => "minmax" };
        var command = new Command("metrics", "Measure a model: size, FLOPs, latency, memory; with --data, test accuracy per class; --int8 adds its int8 deployment; a .onnx file with --runtime onnx is measured as it is (float or int8)")
            { weights, arch, classes, json, imageSize, runs, batch, runtime, convention, name, outDir, data, testSubset, seed, int8, calibration };
        command.SetAction(parse =>
        {
            var output = parse.InvocationConfiguration.Output;
            string w = parse.GetValue(weights)!;
            int size = parse.GetValue(imageSize), n = parse.GetValue(runs), b = parse.GetValue(batch);
            InputRules.CheckActivationMemory(size, b, training: false);
            string label = parse.GetValue(name) ?? (File.Exists(w) ? Path.GetFileNameWithoutExtension(w) : $"{parse.GetValue(arch) ?? ModelLoader.DefaultVariant}_{w}");
            var log = parse.GetValue(json) ? parse.InvocationConfiguration.Error : output;
            string? dir = parse.GetValue(outDir);
            Harness.Training.ClassEvaluation? byClass = null;
            Harness.Data.LocatedDataset? located = parse.GetValue(data) is string folder ? DataOptions.Open(folder, log) : null;
            int numClasses = located?.Test.Classes.Count ?? parse.GetValue(classes);
            bool onnxFile = w.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase) && File.Exists(w);
            string chosen = parse.GetValue(runtime)!;
            bool quantize = parse.GetValue(int8);
            if (quantize && located is null) throw new ArgumentException("--int8 needs --data: calibration runs on its training split");
            if (quantize && onnxFile) throw new ArgumentException("--int8 quantizes a checkpoint; a .onnx file is measured as it is (--runtime onnx)");
            var method = Harness.Export.Quantization.CalibrationMethods.Parse(parse.GetValue(calibration)!);
            using var model = ModelLoader.LoadNetwork(w, parse.GetValue(arch), numClasses, Downloads.Resolver());
            int threads = TorchSharp.torch.get_num_threads();
            var options = new MetricsOptions(size, b, n);
            using var ortFile = onnxFile && chosen == "onnx" ? new Harness.Export.OnnxRuntimeModule(Harness.Export.OnnxRuntimeModel.Open(w, threads)) : null;
            Harness.Data.ImageDataset? test = null;
            if (located is not null)
            {
                ModelLoader.RequireClasses(model, located.Test.Classes.Count, w);
                test = located.Test.Sample(parse.GetValue(testSubset), parse.GetValue(seed));
                var loader = new Harness.Data.BatchLoader(test, 128, false, new Harness.Data.BatchTransform { ImageSize = size }, TorchSharp.torch.CPU);
                // A .onnx file in ONNX Runtime is evaluated as it is (int8 or float), not as the network imported from it.
                byClass = Harness.Training.Evaluator.EvaluateByClass(ortFile is null ? model.Module : ortFile, loader, located.Test.Classes);
            }
            var metrics = MetricsCollector.Collect(label, model.Module, options,
                m => CheckpointSize.Measure(m, (x, p) => TorchCheckpoint.Save(p, x)),
                SparseCheckpoint.MeasureBytes, byClass is null ? null : (byClass.Overall.Loss, byClass.Overall.Accuracy),
                chosen is "onnx" or "both" && ortFile is null
                    ? (m, o) => Harness.Export.OnnxRuntimeLatency.Measure((Harness.Model.Networks.IPrunableNetwork)m, o.ImageSize, o.BatchSize, o.Runs, o.Warmup, threads)
                    : null,
                eager: chosen is "torch" or "both");
            if (ortFile is not null)
            {
                // The file itself, timed in ONNX Runtime; a quantized file's figures are the int8 columns.
                var latency = n > 0 ? Harness.Export.OnnxRuntimeLatency.Measure(File.ReadAllBytes(w), size, b, n, options.Warmup, threads) : null;
                metrics = ortFile.Model.Quantization is not null || Harness.Model.Import.QdqFolding.IsQuantized(Harness.Model.Import.OnnxImporter.ReadModel(w))
                    ? metrics with
                    {
                        TestLoss = null,
                        TestAccuracy = null,
                        Int8 = new Int8Metrics(new FileInfo(w).Length, latency, byClass?.Overall.Loss, byClass?.Overall.Accuracy, ortFile.Model.Calibration ?? "not recorded"),
                    }
                    : metrics with { OnnxLatency = latency };
            }
            if (quantize)
            {
                var images = Harness.Experiments.CalibrationImages.FromTrainingSplit(located!, Harness.Experiments.CalibrationImages.DefaultBatches,
                    Harness.Experiments.CalibrationImages.DefaultBatchSize, size, parse.GetValue(seed));
                var q = new Harness.Export.Quantization.QuantizationOptions
                {
                    Method = method,
                    CalibrationSource = Harness.Experiments.CalibrationImages.Describe(located!, images),
                    CalibrationImages = images.Sum(i => i.Shape[0]),
                };
                var testLoader = test is null ? null : new Harness.Data.BatchLoader(test, 128, false, new Harness.Data.BatchTransform { ImageSize = size }, TorchSharp.torch.CPU);
                metrics = Harness.Experiments.Int8Measurement.Measure(metrics, model, images, q,
                    Harness.Experiments.Int8Measurement.Describe(method.Name(), Harness.Experiments.CalibrationImages.DefaultBatches,
                        Harness.Experiments.CalibrationImages.DefaultBatchSize, parse.GetValue(seed)),
                    testLoader, n, options.Warmup, threads, b);
            }
            var table = MetricsTable.Build([metrics], parse.GetValue(convention));
            var evaluation = byClass is null || dir is null ? null : EvaluationReport.Write(dir, label, w, byClass).Files;
            if (dir is not null)
            {
                MetricsFiles.WriteJson(Path.Combine(dir, $"{label}_metrics.json"), [metrics]);
                MetricsFiles.WriteCsv(Path.Combine(dir, $"{label}_metrics.csv"), [metrics]);
                MetricsPlots.SaveTable(table.ByMetric(), MetricsPlots.TablePath(dir, label), label);
            }
            if (parse.GetValue(json))
                output.WriteLine(HarnessJson.Serialize(new[] { metrics })); // the same list the metrics file holds
            else
            {
                Consoles.For(output).Write(table.ToSpectreForTerminal());
                if (byClass is not null) EvaluationReport.WritePerClass(output, byClass);
                output.WriteLine(dir is null
                    ? "nothing written (--out DIR writes the table image, the metrics JSON/CSV" + (byClass is null ? "" : " and the per-class files") + ")"
                    : $"wrote {MetricsPlots.TablePath(dir, label)} and {label}_metrics.json/.csv in {dir}" +
                      (evaluation is null ? "" : $"; per class: {evaluation.Heatmap}, {evaluation.PerClass}, {evaluation.Confusion}, {evaluation.Evaluation}"));
            }
            return 0;
        });
        return command;
    }
}
