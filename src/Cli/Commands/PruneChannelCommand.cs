using Harness.Experiments;
using Harness.Experiments.Latency;
using Harness.Model;
using Harness.Pruning.Channels;
using Harness.Storage.Files;
using System.CommandLine;
using System.Globalization;

namespace Harness.Cli.Commands;

/// <summary><c>prune channel</c>: structural pruning on the dependency graph; writes the smaller model and prints
/// the per-group report.</summary>
public static class PruneChannelCommand
{
    public static Command Create()
    {
        var weights = CommonOptions.Weights();
        var arch = CommonOptions.Arch();
        var classes = CommonOptions.Classes();
        var json = CommonOptions.Json();
        var ratio = new Option<double>("--ratio") { Description = "fraction of each group's channels to remove (Torch-Pruning's pruning_ratio)", DefaultValueFactory = _ => 0.2 };
        var importance = InputRules.Criterion("--importance", ChannelImportances.Registry, "how channels are scored", ChannelImportances.L1);
        var roundTo = new Option<int>("--round-to") { Description = "kept widths are multiples of this", DefaultValueFactory = _ => 8 };
        var global = new Option<bool>("--global") { Description = "rank channels across groups instead of per group" };
        var maxRatio = new Option<double>("--max-ratio") { Description = "largest fraction any group may lose", DefaultValueFactory = _ => 1.0 };
        var never = new Option<bool>("--never-untouched") { Description = "keep round_to channels in a group that would otherwise be left untouched" };
        var (include, exclude) = CommonOptions.LayerSelection("channels may be removed from the layers selected (a group is pruned only if none of its layers is left out; the classifier's outputs are always kept)");
        var groupRatios = new Option<string[]>("--group-ratio") { Description = "per-group ratio override ID=RATIO (group ids as printed by --graph); repeatable; default: none, --ratio for every group", AllowMultipleArgumentsPerToken = true };
        var groupRatiosFile = new Option<string?>("--group-ratios") { Description = "a JSON file of per-group ratios ({\"groupRatios\": {\"ID\": RATIO}}; sensitivity --to-ratios writes one; default: none)" };
        var depthwise = new Option<bool>("--depthwise-importance") { Description = "count depthwise kernels in the channel scores (Torch-Pruning does not)" };
        var seed = new Option<ulong>("--seed") { Description = "seed of random importance", DefaultValueFactory = _ => 42UL };
        var graphOnly = new Option<bool>("--graph") { Description = "print the dependency graph and stop" };
        var outPath = new Option<string?>("--out") { Description = "output checkpoint (default: pruned_models/channel_pruning_<ratio>.pth)" };
        var force = CommonOptions.Force();
        var calibration = new CalibrationOptions();
        var targetMacs = new Option<string?>("--target-macs") { Description = "prune to a MACs budget (thop rules at --image-size): a fraction of the model's (0.5) or a count (200M); the per-group ratio is searched under --never-untouched's monotone rule (default: none, use --ratio)" };
        var targetParams = new Option<string?>("--target-params") { Description = "prune to a parameter budget: a fraction of the model's (0.5) or a count (1.2M), searched like --target-macs (default: none)" };
        var targetLatency = new Option<string?>("--target-latency") { Description = "prune to a measured latency: a fraction of the base network's (0.5) or milliseconds (12ms), on --runtime at --batch-size, --image-size and --threads; the per-group widths are allocated on a latency model measured on this machine (cached) and the result measured again (default: none)" };
        var runtime = new Option<string>("--runtime") { Description = "with --target-latency: the runtime the latency is measured in: onnx (ONNX Runtime, float export), onnx-int8 (the int8 QDQ export) or torch (Harness's eager forward)", DefaultValueFactory = _ => "onnx" };
        var threads = CommonOptions.Threads();
        var latencyCache = new Option<string?>("--latency-cache") { Description = $"with --target-latency: the folder of cached latency models (default: {Harness.Experiments.Latency.LatencyCache.DefaultFolder})" };
        var sensitivity = new Option<string?>("--sensitivity") { Description = "with --target-latency: a channel sensitivity scan (harness sensitivity's sensitivity.csv) whose per-group accuracy drops replace importance as the cost of narrowing a group (default: none, importance)" };
        var compareUniform = new Option<bool>("--compare-uniform") { Description = "with --target-latency: also find the uniform ratio that meets the same target (measured) and print both networks' MACs and parameters" };
        var command = new Command("channel", "Channel (structural) pruning with coupled layers pruned together")
            { weights, arch, classes, json, ratio, importance, roundTo, global, maxRatio, never, include, exclude, groupRatios, groupRatiosFile, depthwise, seed, graphOnly, outPath, force };
        foreach (var o in calibration.All) command.Options.Add(o);
        command.Options.Add(targetMacs);
        command.Options.Add(targetParams);
        foreach (var o in new Option[] { targetLatency, runtime, threads, latencyCache, compareUniform, sensitivity }) command.Options.Add(o);
        command.SetAction(parse =>
        {
            var output = parse.InvocationConfiguration.Output;
            using var model = ModelLoader.LoadNetwork(parse.GetValue(weights)!, parse.GetValue(arch), parse.GetValue(classes), Downloads.Resolver(), parse.GetValue(seed));
            if (!parse.GetValue(graphOnly))
                calibration.Prepare(parse, model, parse.GetValue(importance)!.NeedsGradients, "--importance",
                    parse.GetValue(json) ? parse.InvocationConfiguration.Error : output);
            if (parse.GetValue(graphOnly))
            {
                var graph = DependencyGraph.Build(model);
                var derived = (model as Harness.Model.Families.GraphNetwork)?.Widths.Channels;
                if (parse.GetValue(json))
                    output.Write(HarnessJson.Serialize(derived is null
                        ? (object)graph.Groups
                        : new
                        {
                            groups = graph.Groups,
                            ties = derived.Ties.Select(t => new { a = t.A, b = t.B, why = t.Why }),
                            untouched = derived.Untouched.Select(u => new { space = u.Space, why = u.Why }),
                        }) + "\n");
                else output.Write(graph.ToText() + derived?.Explain());
                return 0;
            }
            var options = new ChannelPruningOptions
            {
                Ratio = parse.GetValue(ratio),
                RoundTo = parse.GetValue(roundTo),
                Importance = parse.GetValue(importance)!,
                Global = parse.GetValue(global),
                MaxRatio = parse.GetValue(maxRatio),
                NeverUntouched = parse.GetValue(never),
                IgnoredLayers = LeftOut(model, parse.GetValue(include), parse.GetValue(exclude)),
                Seed = parse.GetValue(seed),
                GroupRatios = MergeGroupRatios(GroupRatioFile.ParsePairs(parse.GetValue(groupRatios) ?? [], "--group-ratio"), parse.GetValue(groupRatiosFile)),
                DepthwiseInImportance = parse.GetValue(depthwise),
            };
            var known = DependencyGraph.Build(model).Groups.Select(g => g.Id).ToHashSet();
            foreach (var id in options.GroupRatios.Keys.Where(id => !known.Contains(id)))
                throw new ArgumentException($"--group-ratio {id}=…: the model has no group {id} (groups 0..{known.Max()}; see --graph)");
            long before = model.Module.parameters().Sum(p => p.numel());
            if (parse.GetValue(targetLatency) is { } latencyText)
                return LatencyTargeted(parse, model, options, latencyText, new LatencyOptions(ratio, targetMacs, targetParams, runtime, threads,
                    latencyCache, compareUniform, calibration, outPath, weights, force, json, groupRatios, groupRatiosFile, sensitivity), before);
            foreach (var o in new Option[] { runtime, latencyCache, compareUniform, sensitivity })
                if (parse.GetResult(o) is { Implicit: false }) throw new ArgumentException($"{o.Name} is read with --target-latency");
            BudgetResult? budget = null;
            string? budgetWhat = null;
            if (parse.GetValue(targetMacs) is not null || parse.GetValue(targetParams) is not null)
            {
                if (parse.GetValue(targetMacs) is not null && parse.GetValue(targetParams) is not null)
                    throw new ArgumentException("--target-macs and --target-params: give one budget");
                if (parse.GetResult(ratio) is { Implicit: false }) throw new ArgumentException("--ratio and a --target-… budget: give one (the budget chooses the ratio)");
                bool macs = parse.GetValue(targetMacs) is not null;
                budgetWhat = macs ? "--target-macs" : "--target-params";
                (options, budget) = ChannelBudget.Resolve(model, options, (parse.GetValue(targetMacs) ?? parse.GetValue(targetParams))!,
                    macs ? BudgetMeasure.Macs : BudgetMeasure.Parameters, parse.GetValue(calibration.ImageSize), budgetWhat);
            }
            var (pruned, report) = ChannelPruner.Prune(model, options);
            using (pruned)
            {
                string path = parse.GetValue(outPath) ?? Path.Combine("pruned_models", $"channel_pruning_{options.Ratio.ToString(CultureInfo.InvariantCulture)}.pth");
                InputRules.RequireDistinct(path, "--out", parse.GetValue(weights)!, "--weights");
                InputRules.RequireNewOrForced(path, "--out", parse.GetValue(force));
                ModelLoader.Save(pruned, path);
                long after = pruned.Module.parameters().Sum(p => p.numel());
                if (parse.GetValue(json)) output.WriteLine(HarnessJson.Serialize(new { checkpoint = path, parametersBefore = before, parametersAfter = after, budget, report }));
                else
                {
                    output.Write(report.ToText());
                    if (budget is not null)
                        output.WriteLine($"{budgetWhat} {budget.Target:N0}: ratio {budget.Ratio:F6} (never untouched) reaches {budget.Achieved:N0} of the model's {budget.Baseline:N0} ({(double)budget.Achieved / budget.Baseline:P2})");
                    output.WriteLine($"parameters {before:N0} → {after:N0}; wrote {path}");
                }
            }
            return 0;
        });
        return command;
    }

    private sealed record LatencyOptions(Option<double> Ratio, Option<string?> TargetMacs, Option<string?> TargetParams, Option<string> Runtime,
        Option<int?> Threads, Option<string?> Cache, Option<bool> CompareUniform, CalibrationOptions Calibration, Option<string?> Out,
        Option<string> Weights, Option<bool> Force, Option<bool> Json, Option<string[]> GroupRatios, Option<string?> GroupRatiosFile,
        Option<string?> Sensitivity);

    /// <summary><c>--target-latency</c>: the allocation on the measured latency model (<see cref="LatencyTargetSearch"/>),
    /// the pruned checkpoint, the latency model as CSV and chart beside it, and the figures.</summary>
    private static int LatencyTargeted(ParseResult parse, Harness.Model.Networks.IPrunableNetwork model, ChannelPruningOptions options,
        string text, LatencyOptions o, long before)
    {
        var output = parse.InvocationConfiguration.Output;
        var log = parse.GetValue(o.Json) ? parse.InvocationConfiguration.Error : output;
        if (parse.GetValue(o.TargetMacs) is not null || parse.GetValue(o.TargetParams) is not null)
            throw new ArgumentException("--target-latency and a --target-macs/--target-params budget: give one");
        if (parse.GetResult(o.Ratio) is { Implicit: false }) throw new ArgumentException("--ratio and --target-latency: give one (the target chooses the widths)");
        if (options.GroupRatios.Count > 0) throw new ArgumentException("--group-ratio(s) and --target-latency: give one (the target chooses the widths)");
        var target = LatencyTarget.Parse(text, "--target-latency");
        int batch = parse.GetResult(o.Calibration.BatchSize) is { Implicit: false } ? parse.GetValue(o.Calibration.BatchSize) : 1;
        var setting = new LatencySetting(LatencyRuntimes.Parse(parse.GetValue(o.Runtime)!, "--runtime"), batch,
            parse.GetValue(o.Calibration.ImageSize), parse.GetValue(o.Threads) ?? TorchSharp.torch.get_num_threads());
        setting.Validate();
        string path = parse.GetValue(o.Out) ?? Path.Combine("pruned_models",
            $"channel_latency_{(target.IsMilliseconds ? target.Value.ToString("0.###", CultureInfo.InvariantCulture) + "ms" : target.Value.ToString(CultureInfo.InvariantCulture))}_{setting.Tag}.pth");
        string stem = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, Path.GetFileNameWithoutExtension(path));
        string csv = stem + "_latency_model.csv", png = stem + "_latency_model.png";
        InputRules.RequireDistinct(path, "--out", parse.GetValue(o.Weights)!, "--weights");
        foreach (var p in new[] { path, csv, png }) InputRules.RequireNewOrForced(p, "--out", parse.GetValue(o.Force));
        var cache = new LatencyCache(parse.GetValue(o.Cache) ?? LatencyCache.DefaultFolder);
        var probe = new RuntimeLatencyProbe(setting);
        var costOf = parse.GetValue(o.Sensitivity) is { } scan ? SensitivityCosts.Read(scan, DependencyGraph.Build(model), "--sensitivity") : null;
        var result = LatencyTargetSearch.Search(model, options, target, probe, cache, log, costOf: costOf);
        var table = result.Table!;
        UniformComparison? uniform = parse.GetValue(o.CompareUniform)
            ? UniformComparison.At(model, options, result.TargetFraction, probe, log, costOf: costOf)
            : null;
        var (pruned, report) = ChannelPruner.PruneToWidths(model, options, result.Widths);
        using (pruned)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
            ModelLoader.Save(pruned, path);
            Harness.Storage.Files.AtomicFile.WriteAllText(csv, table.ToCsv());
            Harness.Metrics.LatencyModelPlot.Save(png, $"{model.Architecture}: latency model ({setting.Describe()})", table.BaseMs, table.Curves(), table.Fitted());
            long after = pruned.Module.parameters().Sum(p => p.numel());
            if (parse.GetValue(o.Json))
                output.WriteLine(HarnessJson.Serialize(new { checkpoint = path, parametersBefore = before, parametersAfter = after, latency = result, latencyModelCsv = csv, latencyModelPlot = png, uniform, report }));
            else
            {
                output.Write(report.ToText());
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"--target-latency {result.Target} on {result.Setting}: measured {result.MeasuredMs:F2} ms = {result.MeasuredFraction:F3} of the base's {result.BaseMs:F2} ms " +
                    $"(target {result.TargetFraction:F3} = {result.TargetMs:F2} ms; predicted {result.PredictedFraction:F3}; {result.Attempts.Count - 2} allocation(s) measured; " +
                    $"a re-measurement lands within {result.Tolerance:P0} of the target; the latency model's noise of a ratio {result.Noise:F3}); MACs {result.Macs / 1e6:F1} M = {(double)result.Macs / result.BaseMacs:F3} of the base's"));
                if (uniform is not null)
                    output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"uniform ratio at the same target{(uniform.Reached ? "" : " (not reached: the narrowest uniform network is slower)")}: ratio {uniform.Ratio:F4} measured {uniform.MeasuredFraction:F3}, MACs {uniform.Macs / 1e6:F1} M = {(double)uniform.Macs / result.BaseMacs:F3}, parameters {uniform.Parameters:N0}, importance removed {uniform.ImportanceRemoved:F1} " +
                        $"(latency-targeted: MACs {(double)result.Macs / result.BaseMacs:F3}, parameters {after:N0}, importance removed {result.ImportanceRemoved:F1})"));
                output.WriteLine($"latency model {(result.TableFromCache ? "from the cache" : "measured")}: {result.TableFile}; wrote {csv} and {png}");
                output.WriteLine($"measured on {result.Machine}");
                output.WriteLine($"parameters {before:N0} → {after:N0}; wrote {path}");
            }
        }
        return 0;
    }

    /// <summary>The <c>--group-ratios</c> file's ratios with the <c>--group-ratio</c> pairs over them.</summary>
    private static IReadOnlyDictionary<int, double> MergeGroupRatios(IReadOnlyDictionary<int, double> pairs, string? file)
    {
        if (file is null) return pairs;
        var result = GroupRatioFile.Read(file, "--group-ratios").ToDictionary();
        foreach (var (g, r) in pairs) result[g] = r;
        return result;
    }

    /// <summary>The layers <c>--include</c>/<c>--exclude</c> leave out (<see cref="Harness.Pruning.LayerSelection"/>), as
    /// Torch-Pruning's ignored_layers.</summary>
    private static IReadOnlyList<string> LeftOut(Harness.Model.Networks.IPrunableNetwork model, string[]? include, string[]? exclude)
    {
        if (include is not { Length: > 0 } && exclude is not { Length: > 0 }) return [];
        var names = model.PrunableLayers().Select(l => l.Name).ToList();
        var selected = Harness.Pruning.LayerSelection.Select(names, include, exclude).ToHashSet(StringComparer.Ordinal);
        return names.Where(n => !selected.Contains(n)).ToList();
    }
}

