using Harness.Data;
using Harness.Data.Cifar;
using Harness.Metrics;
using Harness.Model;
using Harness.Model.Networks;
using Harness.Pruning.Channels;
using Harness.Runtime;
using Harness.Storage.Files;
using Harness.Training;
using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using static TorchSharp.torch;

namespace Harness.Cli.Commands;

/// <summary>
/// <c>bench compare</c>: the same work in Harness and in PyTorch (Debian's python3-torch through /usr/bin/python3,
/// one interpreter serving every request of <c>bench/torch_bench.py</c>), interleaved round by round so that both
/// see the same machine, reported as medians over the rounds and ratios: training step and <c>train</c>-loop
/// images/s (32 px, batch 32 and 128, all layers and stages 0–2 frozen) and eager inference latency (b1/b32 at 32 and
/// 224 px) for the base model and the channel-pruned 0.2 and 0.8 models, of any <c>--arch</c> (torchvision's definition
/// of the same network on the PyTorch side; the pruned ones rebuilt there from the checkpoints' shapes).
/// </summary>
public static class BenchCompareCommand
{
    private sealed record Row(string Work, string Model, List<double> Harness, List<double> Torch, bool HigherIsBetter, string Unit);

    public static Command Create()
    {
        var rounds = new Option<int>("--rounds") { Description = "interleaved rounds (medians are reported)", DefaultValueFactory = _ => 5 }.AtLeast(1);
        var steps = new Option<int>("--steps") { Description = "timed training steps per figure", DefaultValueFactory = _ => 4 }.AtLeast(1);
        var runs = new Option<int>("--runs") { Description = "timed inference passes per figure (batch 1; batch 32 takes a third)", DefaultValueFactory = _ => 9 }.AtLeast(1);
        var threads = new Option<int>("--threads") { Description = "intra-op threads of both (libtorch and PyTorch)", DefaultValueFactory = _ => 2 }.AtLeast(1);
        var python = new Option<string>("--python") { Description = "interpreter with torch and torchvision", DefaultValueFactory = _ => "/usr/bin/python3" };
        var only = new Option<string?>("--only") { Description = "train, infer or memory (default all three)" }.AcceptOnlyFromAmong("train", "infer", "memory");
        var memorySteps = new Option<int>("--memory-steps") { Description = "training steps (32 px, batch 32) over which resident memory is sampled", DefaultValueFactory = _ => 1000 }.AtLeast(100);
        var json = CommonOptions.Json();
        var arch = CommonOptions.Arch();
        var cmd = new Command("compare", "Harness against PyTorch on the same work, interleaved: training img/s and inference latency, with ratios")
            { rounds, steps, runs, threads, python, only, memorySteps, json, arch };
        cmd.SetAction(parse =>
        {
            var output = parse.InvocationConfiguration.Output;
            var log = parse.GetValue(json) ? TextWriter.Null : output;
            int t = parse.GetValue(threads);
            set_num_threads(t);
            string script = Path.Combine(AppContext.BaseDirectory, "bench", "torch_bench.py");
            if (!File.Exists(script)) script = Path.GetFullPath(Path.Combine("bench", "torch_bench.py"));
            if (!File.Exists(script)) throw new FileNotFoundException($"bench/torch_bench.py not found (run from the repository root)", script);
            using var torchSide = TorchServer.Start(parse.GetValue(python)!, script, t);
            var versions = torchSide.Ask(new { op = "versions" });
            string folder = Directory.CreateTempSubdirectory("harness-bench-compare-").FullName;
            try
            {
                string variant = parse.GetValue(arch) ?? ModelLoader.DefaultVariant;
                using var b0 = ModelLoader.LoadNetwork("none", variant);
                var models = new List<(string Name, IPrunableNetwork Model, string Spec)> { ("base", b0, "base") };
                foreach (var ratio in new[] { 0.2, 0.8 })
                {
                    var pruned = ChannelPruner.Prune(b0, new ChannelPruningOptions { Ratio = ratio }).Model;
                    string path = Path.Combine(folder, $"channel_{ratio}.pth");
                    ModelLoader.Save(pruned, path);
                    models.Add(($"channel {ratio}", pruned, path));
                }
                string what = parse.GetValue(only) ?? "all";
                log.WriteLine($"{variant}; Harness: TorchSharp {typeof(TorchSharp.torch).Assembly.GetName().Version}, libtorch {__version__}, {get_num_threads()} threads; " +
                              $"PyTorch {versions.GetProperty("torch").GetString()}, torchvision {versions.GetProperty("torchvision").GetString()}, {versions.GetProperty("threads").GetInt32()} threads; " +
                              $"{Environment.ProcessorCount} cores, load {File.ReadAllText("/proc/loadavg").Split(' ')[0]}; " +
                              $"Harness activations {MemoryLayout.EffectiveName(CPU)}, PyTorch contiguous (its default)");
                var rows = new List<Row>();
                Row RowOf(string work, string model, bool higher, string unit)
                {
                    var r = rows.FirstOrDefault(x => x.Work == work && x.Model == model);
                    if (r is null) rows.Add(r = new Row(work, model, [], [], higher, unit));
                    return r;
                }
                for (int round = 0; round < parse.GetValue(rounds); round++)
                {
                    log.WriteLine($"round {round + 1}");
                    if (what is "all" or "train")
                        foreach (int batch in new[] { 32, 128 })
                            foreach (var (frozenName, frozen) in new[] { ("all layers", Array.Empty<int>()), ("0-2 frozen", new[] { 0, 1, 2 }) })
                            {
                                string work = $"train 32px b{batch} {frozenName}";
                                int n = parse.GetValue(steps);
                                double step = HarnessStep(b0, batch, frozen, n);
                                double loop = HarnessLoop(variant, batch, frozen, n, folder);
                                var prefixes = frozen.SelectMany(k => b0.Stages[k]).ToArray();
                                double torchStep = torchSide.Ask(new { op = "train", arch = variant, model = "base", size = 32, batch, frozen = prefixes, steps = n }).GetProperty("img_per_s").GetDouble();
                                RowOf(work + ": step", "base", true, "img/s").Harness.Add(step);
                                RowOf(work + ": step", "base", true, "img/s").Torch.Add(torchStep);
                                RowOf(work + ": Harness train loop vs PyTorch step", "base", true, "img/s").Harness.Add(loop);
                                RowOf(work + ": Harness train loop vs PyTorch step", "base", true, "img/s").Torch.Add(torchStep);
                                log.WriteLine($"  {work}: Harness step {step:F1}, loop {loop:F1}, PyTorch step {torchStep:F1} img/s");
                            }
                    if (what is "all" or "infer")
                        foreach (int size in new[] { 32, 224 })
                            foreach (int batch in new[] { 1, 32 })
                                foreach (var (name, model, spec) in models)
                                {
                                    int r = batch == 1 ? parse.GetValue(runs) : Math.Max(1, parse.GetValue(runs) / 3);
                                    int warm = batch == 1 ? 5 : 1;
                                    // Harness's inference path (BatchNorm folded, as predict and the metrics run it) and
                                    // its eager forward of the network as trained (BatchNorm as is), against PyTorch eager.
                                    double harness = LatencyMeter.Measure(model.Module, size, batch, r, warm).MedianMs;
                                    double unfolded = LatencyMeter.Measure(model.Module, size, batch, r, warm, foldBatchNorm: false).MedianMs;
                                    double torch = torchSide.Ask(new { op = "infer", arch = variant, model = spec, size, batch, runs = r }).GetProperty("median_ms").GetDouble();
                                    RowOf($"infer {size}px b{batch}", name, false, "ms").Harness.Add(harness);
                                    RowOf($"infer {size}px b{batch}", name, false, "ms").Torch.Add(torch);
                                    RowOf($"infer {size}px b{batch}, BatchNorm unfolded", name, false, "ms").Harness.Add(unfolded);
                                    RowOf($"infer {size}px b{batch}, BatchNorm unfolded", name, false, "ms").Torch.Add(torch);
                                    log.WriteLine($"  infer {size}px b{batch} {name}: Harness {harness:F1} ms (unfolded {unfolded:F1}), PyTorch {torch:F1} ms");
                                }
                }
                static double Median(List<double> v)
                {
                    var sorted = v.Order().ToArray();
                    return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
                }
                // Latency against compute: each pruned model's latency and MACs (thop's rules, 224 px) as fractions of the
                // base's, per inference row of Harness.
                long baseMacs = MacCounter.ThopMacs(b0.Module, 224);
                var perFlop = models.Skip(1).Select(m =>
                {
                    double macs = (double)MacCounter.ThopMacs(m.Model.Module, 224) / baseMacs;
                    var latency = rows.Where(r => r.Work.StartsWith("infer", StringComparison.Ordinal) && r.Model == m.Name)
                        .Select(r => new { work = r.Work, latency_vs_base = Median(r.Harness) / Median(rows.First(b => b.Work == r.Work && b.Model == "base").Harness) })
                        .ToList();
                    return new { model = m.Name, macs_vs_base = macs, latency };
                }).ToList();
                foreach (var m in models.Skip(1)) m.Model.Dispose();
                var memory = what is "all" or "memory" ? MemoryFlatness(variant, parse.GetValue(memorySteps), folder, log) : null;
                var report = rows.Select(r => new
                {
                    work = r.Work,
                    model = r.Model,
                    unit = r.Unit,
                    harness = Median(r.Harness),
                    pytorch = Median(r.Torch),
                    // > 1 means Harness is faster.
                    speedup = r.HigherIsBetter ? Median(r.Harness) / Median(r.Torch) : Median(r.Torch) / Median(r.Harness),
                }).ToList();
                if (parse.GetValue(json))
                    output.WriteLine(HarnessJson.Serialize(new { arch = variant, threads = t, memory_format = MemoryLayout.EffectiveName(CPU), versions, rows = report, latency_vs_macs = perFlop, memory }));
                else
                {
                    output.WriteLine($"{"work",-52} {"model",-12} {"Harness",10} {"PyTorch",10} {"Harness speed ×",16}");
                    foreach (var r in report)
                        output.WriteLine($"{r.work,-52} {r.model,-12} {r.harness,10:F1} {r.pytorch,10:F1} {r.speedup,16:F2}   ({r.unit})");
                    if (perFlop.Count > 0 && perFlop[0].latency.Count > 0)
                    {
                        output.WriteLine();
                        output.WriteLine("Harness latency and MACs (thop, 224 px) of the pruned models as fractions of the base's:");
                        foreach (var m in perFlop)
                            output.WriteLine($"  {m.model}: MACs {m.macs_vs_base:F3}; latency " +
                                             string.Join(", ", m.latency.Select(l => $"{l.work.Replace("infer ", "")} {l.latency_vs_base:F3} ({l.latency_vs_base / m.macs_vs_base:F2}× its MAC share)")));
                    }
                    if (memory is not null)
                    {
                        output.WriteLine();
                        output.WriteLine($"Resident memory over {memory.steps} training steps (train loop, 32 px, batch 32, all layers, one epoch): " +
                                         $"{memory.rss_mib_at_step_50:F1} MiB at step 50, {memory.rss_mib_at_end:F1} MiB at the end, {memory.rss_mib_max_after_50:F1} MiB at most after step 50: " +
                                         $"growth {100 * memory.growth_after_50:F2}% (end vs step 50), {100 * memory.peak_growth_after_50:F2}% (peak vs step 50), " +
                                         $"{100 * memory.growth_after_100:F2}% (end vs step 100, {memory.rss_mib_at_step_100:F1} MiB)");
                    }
                }
                return 0;
            }
            finally
            {
                Directory.Delete(folder, recursive: true);
            }
        });
        return cmd;
    }

    /// <summary>Harness's bare training step (what <c>bench data</c> times): forward, cross-entropy, backward, SGD.</summary>
    private static double HarnessStep(IPrunableNetwork network, int batch, int[] frozen, int steps)
    {
        var model = network.Module;
        var sgd = new SgdMomentum(Trainer.Freeze(network, frozen), 0.9, 5e-4) { LearningRate = 0.01 };
        try
        {
            manual_seed(0);
            using var x = randn(batch, 3, 32, 32);
            using var y = randint(0, 10, [batch]);
            model.train();
            void Step()
            {
                using var scope = NewDisposeScope();
                sgd.ZeroGrad();
                nn.functional.cross_entropy(model.call(x), y).backward();
                sgd.Step();
            }
            Step();
            var sw = Stopwatch.StartNew();
            for (int i = 0; i < steps; i++) Step();
            return steps * batch / sw.Elapsed.TotalSeconds;
        }
        finally
        {
            sgd.Dispose();
            foreach (var p in model.parameters()) p.requires_grad = true;
        }
    }

    /// <summary><c>train</c>'s loop end to end (data loading, transforms, the step, progress) for <paramref name="steps"/>
    /// batches of 32×32 images, timed by the loop itself (the epoch time, validation excluded).</summary>
    private static double HarnessLoop(string variant, int batch, int[] frozen, int steps, string folder)
    {
        var rng = new Random(1);
        var pixels = new byte[(steps + 1) * batch * 3 * 32 * 32];
        rng.NextBytes(pixels);
        var labels = Enumerable.Range(0, (steps + 1) * batch).Select(i => (byte)(i % 10)).ToArray();
        var data = new ImageDataset(pixels, labels, 32, 32, CifarClasses.Names, "random");
        var val = data.Take(batch);
        using var model = ModelLoader.LoadNetwork("none", variant);
        var options = new TrainingOptions { Epochs = 1, BatchSize = batch, ImageSize = 32, FrozenStages = frozen };
        var run = TrainingRun.For($"loop_{batch}_{frozen.Length}_{Guid.NewGuid():N}", folder);
        var result = new Trainer(options, TextWriter.Null).Train(model,
            new BatchLoader(data, batch, true, new BatchTransform { ImageSize = 32, Train = true }, CPU),
            new BatchLoader(val, batch, false, new BatchTransform { ImageSize = 32 }, CPU), run, maxStepsPerEpoch: steps + 1);
        // The first of the steps + 1 batches warms up as the bare step's extra step does; the epoch time includes it.
        return (steps + 1) * batch / result.History[0].Seconds;
    }

    /// <summary>Resident memory sampled after every step of <paramref name="steps"/> steps of <c>train</c>'s loop
    /// (32 px, batch 32, all layers, one epoch: the study's epoch at batch 32 is 1,407 steps).</summary>
    private sealed record MemoryTrace(int steps, double rss_mib_at_step_50, double rss_mib_at_step_100,
        double rss_mib_at_end, double rss_mib_max_after_50, double growth_after_50, double peak_growth_after_50,
        double growth_after_100, double[] rss_mib_every_50);

    private static MemoryTrace MemoryFlatness(string variant, int steps, string folder, TextWriter log)
    {
        const int batch = 32;
        var rng = new Random(2);
        var pixels = new byte[steps * batch * 3 * 32 * 32];
        rng.NextBytes(pixels);
        var labels = Enumerable.Range(0, steps * batch).Select(i => (byte)(i % 10)).ToArray();
        var data = new ImageDataset(pixels, labels, 32, 32, CifarClasses.Names, "random");
        var val = data.Take(batch);
        using var model = ModelLoader.LoadNetwork("none", variant);
        var rss = new List<double>(steps);
        var options = new TrainingOptions { Epochs = 1, BatchSize = batch, ImageSize = 32, FrozenStages = [] };
        var run = TrainingRun.For($"memory_{Guid.NewGuid():N}", folder);
        log.WriteLine($"memory: {steps} training steps…");
        new Trainer(options, TextWriter.Null) { AfterStep = _ => rss.Add(Environment.WorkingSet / 1048576.0) }.Train(model,
            new BatchLoader(data, batch, true, new BatchTransform { ImageSize = 32, Train = true }, CPU),
            new BatchLoader(val, batch, false, new BatchTransform { ImageSize = 32 }, CPU), run);
        var taken = rss.Take(steps).ToList();
        double at50 = taken[49], at100 = taken[99], end = taken[^1], max = taken.Skip(50).DefaultIfEmpty(at50).Max();
        return new MemoryTrace(taken.Count, at50, at100, end, max, end / at50 - 1, max / at50 - 1, end / at100 - 1,
            taken.Where((_, i) => (i + 1) % 50 == 0).ToArray());
    }

    /// <summary>The PyTorch side: one interpreter running bench/torch_bench.py, one JSON request and answer a line.</summary>
    private sealed class TorchServer : IDisposable
    {
        private readonly Process _process;

        private TorchServer(Process process) => _process = process;

        public static TorchServer Start(string python, string script, int threads)
        {
            var start = new ProcessStartInfo(python) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = false };
            start.ArgumentList.Add(script);
            start.ArgumentList.Add(threads.ToString(System.Globalization.CultureInfo.InvariantCulture));
            try
            {
                return new TorchServer(Process.Start(start)!);
            }
            catch (System.ComponentModel.Win32Exception ex)
            {
                throw new FileNotFoundException($"--python '{python}' could not be started ({ex.Message}); install Debian's python3-torch python3-torchvision", python, ex);
            }
        }

        public JsonElement Ask(object request)
        {
            _process.StandardInput.WriteLine(HarnessJson.Serialize(request, indented: false));
            _process.StandardInput.Flush();
            string? line = _process.StandardOutput.ReadLine();
            if (line is null)
                throw new IOException("the PyTorch side (bench/torch_bench.py) stopped; does the interpreter have torch and torchvision? (apt-get install -y python3-torch python3-torchvision)");
            return JsonDocument.Parse(line).RootElement.Clone();
        }

        public void Dispose()
        {
            try
            {
                _process.StandardInput.Close();
                if (!_process.WaitForExit(5000)) _process.Kill();
            }
            finally
            {
                _process.Dispose();
            }
        }
    }
}
