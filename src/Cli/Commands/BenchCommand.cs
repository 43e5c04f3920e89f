using Harness.Data;
using Harness.Metrics;
using Harness.Model;
using Harness.Model.Networks;
using Harness.Pruning.Channels;
using Harness.Pruning.FineGrained;
using Harness.Storage.Files;
using Harness.Training;
using System.CommandLine;
using System.Diagnostics;
using static TorchSharp.torch;

namespace Harness.Cli.Commands;

/// <summary><c>bench</c>: the speed figures the issues ask for, measured in one run so ratios are comparable.</summary>
public static class BenchCommand
{
    public static Command Create() => new("bench", "Benchmarks (any --arch): data pipeline vs training, pruning speed, pruned latency, ONNX Runtime, Harness against PyTorch")
    {
        Data(), Prune(), Onnx(), BenchCompareCommand.Create(),
    };

    private static Command Data()
    {
        var sizes = new Option<int[]>("--sizes") { Description = "image sides", DefaultValueFactory = _ => [32, 224], AllowMultipleArgumentsPerToken = true }.ImageSides();
        var steps = new Option<int>("--steps") { Description = "training steps timed per size", DefaultValueFactory = _ => 3 }.AtLeast(1);
        var batch = new Option<int>("--batch-size") { Description = "images per training step", DefaultValueFactory = _ => 128 }.AtLeast(1);
        var arch = CommonOptions.Arch();
        var json = CommonOptions.Json();
        var cmd = new Command("data", "Data-pipeline images/s against training-step images/s (stages 0-2 frozen, CPU)") { sizes, steps, batch, arch, json };
        cmd.SetAction(parse =>
        {
            var stdout = parse.InvocationConfiguration.Output;
            var output = parse.GetValue(json) ? TextWriter.Null : stdout;
            var rows = new List<object>();
            int b = parse.GetValue(batch);
            foreach (int size in parse.GetValue(sizes)!) InputRules.CheckActivationMemory(size, b, training: true, "--sizes");
            var rng = new Random(1);
            var pixels = new byte[b * 8 * 3072];
            rng.NextBytes(pixels);
            var data = new ImageDataset(pixels, Enumerable.Range(0, b * 8).Select(i => (byte)(i % 10)).ToArray(), 32, 32, Harness.Data.Cifar.CifarClasses.Names, "random");
            string variant = parse.GetValue(arch) ?? ModelLoader.DefaultVariant;
            output.WriteLine($"{variant}, threads {get_num_threads()}, batch {b}");
            foreach (int size in parse.GetValue(sizes)!)
            {
                var loader = new BatchLoader(data, b, true, new BatchTransform { ImageSize = size, Train = true }, CPU);
                var order = loader.Order(0);
                var flips = new bool[order.Length];
                using (loader.Make(order, flips, 0)) { }
                var sw = Stopwatch.StartNew();
                for (int i = 0; i < loader.BatchesPerEpoch; i++) using (loader.Make(order, flips, i)) { }
                double pipeline = data.Count / sw.Elapsed.TotalSeconds;

                using var network = ModelLoader.LoadNetwork("none", variant);
                var model = network.Module;
                var sgd = new SgdMomentum(Trainer.Freeze(network, [0, 1, 2]), 0.9, 5e-4) { LearningRate = 0.01 };
                model.train();
                using var batchData = loader.Make(order, flips, 0);
                void Step()
                {
                    using var scope = NewDisposeScope();
                    sgd.ZeroGrad();
                    nn.functional.cross_entropy(model.call(batchData.Images), batchData.Labels).backward();
                    sgd.Step();
                }
                Step();
                sw.Restart();
                int n = parse.GetValue(steps);
                for (int i = 0; i < n; i++) Step();
                double training = n * b / sw.Elapsed.TotalSeconds;
                sgd.Dispose();
                output.WriteLine($"{size}px: pipeline {pipeline:N0} img/s, training step {training:N1} img/s, ratio {pipeline / training:N1}×");
                rows.Add(new { imageSize = size, pipelineImagesPerSecond = pipeline, trainingStepImagesPerSecond = training });
            }
            if (parse.GetValue(json))
                stdout.WriteLine(HarnessJson.Serialize(new { bench = "data", arch = variant, threads = get_num_threads(), batchSize = b, rows }));
            return 0;
        });
        return cmd;
    }

    private static Command Prune()
    {
        var cmd = new Command("prune", "Time of global fine-grained and channel pruning; latency of channel-pruned models");
        var runs = new Option<int>("--runs") { Description = "timed passes per latency figure", DefaultValueFactory = _ => 20 }.AtLeast(1);
        var arch = CommonOptions.Arch();
        var weights = CommonOptions.Weights();
        var json = CommonOptions.Json();
        cmd.Options.Add(runs);
        cmd.Options.Add(arch);
        cmd.Options.Add(weights);
        cmd.Options.Add(json);
        cmd.SetAction(parse =>
        {
            var stdout = parse.InvocationConfiguration.Output;
            var output = parse.GetValue(json) ? TextWriter.Null : stdout;
            var channel = new List<object>();
            double fineGrainedMs;
            string w = parse.GetValue(weights)!;
            bool named = w is "none" or "imagenet";
            using var model = ModelLoader.LoadNetwork(w, named ? parse.GetValue(arch) ?? ModelLoader.DefaultVariant : parse.GetValue(arch), seed: 0);
            string variant = named ? parse.GetValue(arch) ?? ModelLoader.DefaultVariant : Path.GetFileNameWithoutExtension(w);
            double? deriveMs = null;
            if (model is Harness.Model.Families.GraphNetwork graphNetwork)
            {
                // An import's channel spaces are derived from its graph once and cached; time the derivation itself.
                var derive = new List<double>();
                for (int i = 0; i < 6; i++)
                {
                    var sw = Stopwatch.StartNew();
                    _ = new Harness.Model.Families.GraphChannels(graphNetwork.Spec);
                    derive.Add(sw.Elapsed.TotalMilliseconds);
                }
                deriveMs = derive.Skip(1).Order().ElementAt(2);
                output.WriteLine($"deriving the channel spaces from the graph of {variant}: {deriveMs:F1} ms warm (median of 5), {derive[0]:F1} ms first call");
            }
            using (var warm = ModelLoader.Copy(model)) FineGrainedPruner.Prune(warm.Module, new FineGrainedOptions { Amount = 0.5 });
            using (var copy = ModelLoader.Copy(model))
            {
                var sw = Stopwatch.StartNew();
                FineGrainedPruner.Prune(copy.Module, new FineGrainedOptions { Amount = 0.5 });
                fineGrainedMs = sw.Elapsed.TotalMilliseconds;
                output.WriteLine($"fine-grained global L1 0.5 on {variant}: {sw.Elapsed.TotalMilliseconds:F0} ms");
            }
            long baseMacs = MacCounter.ThopMacs(model.Module, 224);
            var baseLatency = new[] { 1, 32 }.Select(b => LatencyMeter.Measure(model.Module, 224, b, b == 1 ? parse.GetValue(runs) : 3, b == 1 ? 10 : 1)).ToArray();
            output.WriteLine($"base: MACs {baseMacs / 1e9:F3} G, latency b1 {baseLatency[0].MeanMs:F1} ms, b32 {baseLatency[1].MeanMs:F0} ms");
            foreach (var ratio in new[] { 0.2, 0.8 })
            {
                // The first call in the process includes JIT compilation and libtorch's lazy set-up; then the median
                // of five warm calls.
                var times = new List<double>();
                IPrunableNetwork? pruned = null;
                for (int i = 0; i < 6; i++)
                {
                    pruned?.Dispose();
                    var sw = Stopwatch.StartNew();
                    pruned = ChannelPruner.Prune(model, new ChannelPruningOptions { Ratio = ratio }).Model;
                    times.Add(sw.Elapsed.TotalMilliseconds);
                }
                double cold = times[0], ms = times.Skip(1).Order().ElementAt(2);
                using (var last = pruned!)
                {
                    long macs = MacCounter.ThopMacs(last.Module, 224);
                    var l1 = LatencyMeter.Measure(last.Module, 224, 1, parse.GetValue(runs), 10);
                    var l32 = LatencyMeter.Measure(last.Module, 224, 32, 3, 1);
                    long parameters = last.Module.parameters().Sum(p => p.numel());
                    channel.Add(new { ratio, pruneWarmMs = ms, pruneFirstCallMs = cold, deriveWarmMs = deriveMs, parameters, macs, latencyB1Ms = l1.MeanMs, latencyB32Ms = l32.MeanMs });
                    output.WriteLine($"channel {ratio}: graph+prune {ms:F0} ms warm (median of 5), {cold:F0} ms first call{(deriveMs is double d ? $" (+{d:F1} ms deriving the spaces)" : "")}; {parameters:N0} parameters; MACs {macs / 1e9:F3} G ({(double)macs / baseMacs:P1} of base); latency b1 {l1.MeanMs:F1} ms ({l1.MeanMs / baseLatency[0].MeanMs:P0}), b32 {l32.MeanMs:F0} ms ({l32.MeanMs / baseLatency[1].MeanMs:P0})");
                }
            }
            if (parse.GetValue(json))
                stdout.WriteLine(HarnessJson.Serialize(new
                {
                    bench = "prune",
                    arch = variant,
                    threads = get_num_threads(),
                    imageSize = 224,
                    fineGrainedGlobalL1HalfMs = fineGrainedMs,
                    baseline = new { macs = baseMacs, latencyB1Ms = baseLatency[0].MeanMs, latencyB32Ms = baseLatency[1].MeanMs },
                    channel,
                }));
            return 0;
        });
        return cmd;
    }

    /// <summary><c>bench onnx</c>: Harness's eager forward against ONNX Runtime on the exported model (BatchNorm folded),
    /// float and int8 (<see cref="Harness.Export.Quantization.Int8Exporter"/>, calibrated on seeded random images: the
    /// ranges change what the model computes, not how long it takes), all on <c>--threads</c> intra-op threads, at
    /// batch 1 and 32, 224 px, for the <c>--arch</c> network and that network channel-pruned at <c>--ratio</c>; with
    /// <c>--torch-onnx</c>, also the same network exported by <c>torch.onnx.export</c> (bench/torch_onnx_export.py) in the
    /// same runtime. The ONNX Runtime sessions of one batch size are timed in turn, one alive at a time as deployed
    /// (<see cref="Harness.Export.OnnxRuntimeLatency.MeasureInTurn"/>), in <c>--rounds</c> rounds of fresh sessions, so
    /// the ratios between them are fair on a shared machine; every ratio is printed beside the thop MACs ratio, and the
    /// int8/float ratios of every round after the table.</summary>
    private static Command Onnx()
    {
        var runs = new Option<int>("--runs") { Description = "timed passes at batch 1 (batch 32: a fifth of them, at least 5)", DefaultValueFactory = _ => 20 }.AtLeast(1);
        var threads = new Option<int>("--threads") { Description = "intra-op threads of libtorch and ONNX Runtime", DefaultValueFactory = _ => 2 }.AtLeast(1);
        var torchOnnx = new Option<string?>("--torch-onnx") { Description = "the same --arch network exported by PyTorch (input 'input' [N,3,224,224]; bench/torch_onnx_export.py), timed in the same runtime (default: none, Harness's exports only)" };
        var ratio = new Option<double>("--ratio") { Description = "channel pruning ratio of the pruned model (L1, round_to 8)", DefaultValueFactory = _ => 0.8 };
        var arch = CommonOptions.Arch();
        var json = CommonOptions.Json();
        var pruned = new Option<string?>("--pruned") { Description = "a pruned checkpoint of the --arch network (prune channel --out) timed in place of the --ratio network: e.g. one pruned to --target-latency, re-measured here in a process of its own (default: none)" };
        var batches = new Option<int[]>("--batch-sizes") { Description = "the batch sizes timed", DefaultValueFactory = _ => [1, 32], AllowMultipleArgumentsPerToken = true };
        var noEager = new Option<bool>("--no-eager") { Description = "time ONNX Runtime only (skip Harness's eager forward)" };
        var noInt8 = new Option<bool>("--no-int8") { Description = "time the float exports only, the base's and the pruned network's side by side (as prune channel --target-latency times them)" };
        var rounds = new Option<int>("--rounds") { Description = "rounds of fresh ONNX Runtime sessions the runs are split over (each round starts with the next model; the int8/float ratio of every round is printed)", DefaultValueFactory = _ => 3 }.AtLeast(1);
        var noSpinning = new Option<bool>("--no-spinning") { Description = "ONNX Runtime's intra-op threads sleep between operators (session.intra_op.allow_spinning 0) instead of spinning, its default" };
        var cmd = new Command("onnx", "Latency of Harness eager against ONNX Runtime, float and int8, on the exported models (224 px, batch 1 and 32)") { runs, threads, torchOnnx, ratio, arch, json, pruned, batches, noEager, noInt8, rounds, noSpinning };
        cmd.SetAction(parse =>
        {
            var stdout = parse.InvocationConfiguration.Output;
            var output = parse.GetValue(json) ? TextWriter.Null : stdout;
            var rows = new List<object>();
            int n1 = parse.GetValue(runs), n32 = Math.Max(5, n1 / 5), t = parse.GetValue(threads);
            double r = parse.GetValue(ratio);
            if (!(r > 0 && r < 1)) throw new ArgumentException($"--ratio must lie in (0, 1) (got {r})");
            string? prunedFile = parse.GetValue(pruned);
            if (prunedFile is not null && parse.GetResult(ratio) is { Implicit: false }) throw new ArgumentException("--ratio and --pruned: give one");
            var sizes = parse.GetValue(batches) ?? [1, 32];
            if (sizes.Length == 0 || sizes.Any(b => b is < 1 or > 1024)) throw new ArgumentException($"--batch-sizes must be 1..1024 (got {string.Join(" ", sizes)})");
            bool eager = !parse.GetValue(noEager);
            string? torchFile = parse.GetValue(torchOnnx);
            if (torchFile is not null && !File.Exists(torchFile))
                throw new FileNotFoundException($"--torch-onnx '{torchFile}' does not exist (bench/torch_onnx_export.py writes it)");
            set_num_threads(t);
            int k = parse.GetValue(rounds);
            bool spinning = !parse.GetValue(noSpinning), int8 = !parse.GetValue(noInt8);
            output.WriteLine($"threads {t} (libtorch and ONNX Runtime intra-op), 224 px; medians of {n1} runs at b1, {n32} at b32; " +
                $"ONNX Runtime {Microsoft.ML.OnnxRuntime.OrtEnv.Instance().GetVersionString()}, " +
                (int8 ? $"ORT sessions timed in turn, one alive at a time ({(spinning ? "default thread spinning" : "spinning off")}), the runs split over {k} round(s) of fresh sessions; "
                    : "ORT sessions timed interleaved as prune channel --target-latency times them (--no-int8; b1: blocks of 5 passes after one untimed pass); ") +
                $"int8: {Harness.Export.Quantization.Int8Exporter.Scheme}");
            string variant = parse.GetValue(arch) ?? ModelLoader.DefaultVariant;
            output.WriteLine(variant);
            using var baseModel = ModelLoader.LoadNetwork("none", variant);
            using var prunedModel = prunedFile is null
                ? ChannelPruner.Prune(baseModel, new ChannelPruningOptions { Ratio = r }).Model
                : ModelLoader.LoadNetwork(prunedFile, variant, baseModel.NumClasses);
            var prunedNet = prunedModel;
            var options = new Harness.Export.OnnxExportOptions { ClassNames = Harness.Data.Cifar.CifarClasses.Names };
            baseModel.Module.eval();
            prunedNet.Module.eval();
            double baseMacs = MacCounter.ThopMacs(baseModel.Module, 224);
            double prunedMacs = MacCounter.ThopMacs(prunedNet.Module, 224);
            var calibration = RandomCalibration(224);
            var quantization = new Harness.Export.Quantization.QuantizationOptions { CalibrationSource = "seeded random images (timing only)", CalibrationImages = 16 };
            var files = new List<byte[]?>
            {
                Harness.Export.OnnxExporter.ToBytes(baseModel, options),
                int8 ? Harness.Export.Quantization.Int8Exporter.ToBytes(baseModel, options, quantization, calibration, t) : null,
                Harness.Export.OnnxExporter.ToBytes(prunedNet, options),
                int8 ? Harness.Export.Quantization.Int8Exporter.ToBytes(prunedNet, options, quantization, calibration, t) : null,
            };
            if (torchFile is not null) files.Add(File.ReadAllBytes(torchFile));
            string label = prunedFile is null ? $"channel {r.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture)}" : Path.GetFileNameWithoutExtension(prunedFile);
            output.WriteLine($"thop MACs: base {baseMacs / 1e6:F1} M, {label} {prunedMacs / 1e6:F1} M (MACs ratio {prunedMacs / baseMacs:F3}); " +
                $"ONNX files: base {files[0]!.Length / 1e6:F2} MB float, {files[1]?.Length / 1e6:F2} MB int8; {label} {files[2]!.Length / 1e6:F2} MB float, {files[3]?.Length / 1e6:F2} MB int8");
            var roundLines = new List<string>();
            static string Rounds(double[] r) => r.Length == 0 ? "–" : string.Join(" ", r.Select(x => x.ToString("F2", System.Globalization.CultureInfo.InvariantCulture)));
            output.WriteLine("| batch | model | Harness eager ms | ORT float ms | ORT int8 ms | int8 / float | ORT float / base float | ORT int8 / base float | MACs / base MACs | ORT, torch.onnx.export ms | Harness export / torch export |");
            output.WriteLine("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
            foreach (int b in sizes)
            {
                int n = b == 1 ? n1 : n32, warm = b == 1 ? 5 : 2; // at batch 32 a new session's second pass still runs 5–9× slow
                double? eagerBase = eager ? LatencyMeter.Measure(baseModel.Module, 224, b, n, warm).MedianMs : null;
                double? eagerPruned = eager ? LatencyMeter.Measure(prunedNet.Module, 224, b, n, warm).MedianMs : null;
                var timedFiles = files.OfType<byte[]>().ToList();
                // --no-int8 re-measures a latency-targeted network as prune channel --target-latency timed it: the sessions
                // open together, interleaved, their threads sleeping between operators.
                var measured = int8
                    ? Harness.Export.OnnxRuntimeLatency.MeasureInTurn(timedFiles, 224, b, n, warm, t, k, spinning)
                    : Harness.Export.OnnxRuntimeLatency.MeasureInterleaved(timedFiles, 224, b, n, warm, t, Harness.Export.OnnxRuntimeLatency.BlockFor(b))
                        .Select(s => (s, (IReadOnlyList<double>)[s.MedianMs])).ToList();
                // Back in the fixed positions (base float, base int8, pruned float, pruned int8, torch export); NaN where
                // not timed.
                var at = files.Select((f, i) => f is null ? -1 : files.Take(i).Count(x => x is not null)).ToArray();
                var ort = at.Select(i => i < 0 ? double.NaN : measured[i].Pooled.MedianMs).ToArray();
                // Round by round: the int8 export against its own float one, and the pruned int8 one against the base float.
                double[] RoundRatios(int num, int den) => at[num] < 0 ? [] :
                    [.. measured[at[num]].RoundMedians.Zip(measured[at[den]].RoundMedians, (x, y) => x / y)];
                var (baseRounds, prunedRounds, prunedBaseRounds) = (RoundRatios(1, 0), RoundRatios(3, 2), RoundRatios(3, 0));
                roundLines.Add($"b{b} per round: base int8/float {Rounds(baseRounds)}; {label} int8/float {Rounds(prunedRounds)}, int8 / base float {Rounds(prunedBaseRounds)}");
                string torchCells = torchFile is null ? "| |" : $"| {ort[4]:F1} | {ort[0] / ort[4]:F2} |";
                output.WriteLine($"| {b} | base | {eagerBase?.ToString("F1") ?? "–"} | {ort[0]:F1} | {ort[1]:F1} | {ort[1] / ort[0]:F2} | 1.00 | {ort[1] / ort[0]:F2} | 1.000 {torchCells}");
                output.WriteLine($"| {b} | {label} | {eagerPruned?.ToString("F1") ?? "–"} | {ort[2]:F1} | {ort[3]:F1} | {ort[3] / ort[2]:F2} | {ort[2] / ort[0]:F2} | {ort[3] / ort[0]:F2} | {prunedMacs / baseMacs:F3} | | |");
                rows.Add(new { batchSize = b, model = "base", macs = baseMacs, eagerMs = eagerBase, onnxRuntimeMs = ort[0], onnxRuntimeInt8Ms = int8 ? ort[1] : (double?)null, torchExportOnnxRuntimeMs = torchFile is null ? (double?)null : ort[4], int8RatioRounds = baseRounds, int8VsBaseFloatRounds = baseRounds });
                rows.Add(new { batchSize = b, model = label, macs = prunedMacs, eagerMs = eagerPruned, onnxRuntimeMs = ort[2], onnxRuntimeInt8Ms = int8 ? ort[3] : (double?)null, torchExportOnnxRuntimeMs = (double?)null, int8RatioRounds = prunedRounds, int8VsBaseFloatRounds = prunedBaseRounds });
            }
            if (int8) foreach (var line in roundLines) output.WriteLine(line);
            if (parse.GetValue(json))
                stdout.WriteLine(HarnessJson.Serialize(new
                {
                    bench = "onnx",
                    arch = variant,
                    threads = t,
                    imageSize = 224,
                    ratio = prunedFile is null ? r : (double?)null,
                    pruned = prunedFile,
                    onnxRuntime = Microsoft.ML.OnnxRuntime.OrtEnv.Instance().GetVersionString(),
                    int8Scheme = Harness.Export.Quantization.Int8Exporter.Scheme,
                    timing = int8 ? "in turn, one session alive at a time" : "interleaved, spinning off",
                    rounds = int8 ? k : (int?)null,
                    spinning = int8 && spinning,
                    rows,
                }));
            return 0;
        });
        return cmd;
    }

    /// <summary>Two batches of eight seeded N(0, 1) images: calibration for a latency measurement, where the ranges
    /// do not matter.</summary>
    private static IReadOnlyList<(float[] Data, int[] Shape)> RandomCalibration(int imageSize)
    {
        using var generator = new Generator(7);
        return Enumerable.Range(0, 2).Select(_ =>
        {
            using var x = randn(8, 3, imageSize, imageSize, generator: generator);
            return (x.data<float>().ToArray(), new[] { 8, 3, imageSize, imageSize });
        }).ToList();
    }
}
