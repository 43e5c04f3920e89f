using Harness.Data;
using Harness.Experiments;
using Harness.Model;
using Harness.Storage.Files;
using System.CommandLine;

namespace Harness.Cli.Commands;

/// <summary><c>sensitivity</c>: every channel group (or layer) pruned alone at each ratio, evaluated on a seeded subset
/// of the validation split (the training data's held-out 10%, as <c>train</c> splits it) or of the test split:
/// <c>sensitivity.csv</c>, <c>sensitivity_heatmap.png</c> and the ranking.</summary>
public static class SensitivityCommand
{
    public static Command Create()
    {
        var weights = CommonOptions.TrainedWeights();
        var arch = CommonOptions.Arch();
        var json = CommonOptions.Json();
        var data = new Option<string>("--data") { Description = "data folder (its validation split, or its test split with --split test, is evaluated)", Required = true };
        var split = new Option<string>("--split")
        {
            Description = "the images that score the groups: val (the held-out 10% of the training split, 0.9/0.1 with --seed as train draws it: the clean protocol when the scan chooses a network that is then evaluated on the test split) or test",
            DefaultValueFactory = _ => "val",
        }.AcceptOnlyFromAmong("val", "test");
        var ratios = new Option<string>("--ratios") { Description = "comma-separated ratios in (0, 1)", DefaultValueFactory = _ => "0.1,0.3,0.5,0.7" };
        var fineGrained = new Option<bool>("--fine-grained") { Description = "prune each layer alone by L1 (fine-grained) instead of each channel group" };
        var roundTo = new Option<int>("--round-to") { Description = "channel pruning: kept widths are multiples of this", DefaultValueFactory = _ => 8 }.AtLeast(1);
        var subset = new Option<int>("--subset", "--test-subset") { Description = "images of --split drawn with --seed", DefaultValueFactory = _ => 1000 }.AtLeast(1);
        var seed = new Option<ulong>("--seed") { Description = "seed of the train/validation split and of the subset", DefaultValueFactory = _ => 42UL };
        var imageSize = new Option<int>("--image-size") { Description = "side the images are resized to (the model's training size)", DefaultValueFactory = _ => 224 }.ImageSide();
        var batch = new Option<int>("--batch-size") { Description = "images per evaluation batch", DefaultValueFactory = _ => 128 }.AtLeast(1);
        var outDir = new Option<string>("--out") { Description = "folder for sensitivity.csv, sensitivity_ranking.csv and sensitivity_heatmap.png", DefaultValueFactory = _ => "sensitivity" };
        var toRatios = new Option<string?>("--to-ratios") { Description = "write per-group ratios meeting --target-macs to this JSON file, for prune channel --group-ratios (default: none)" };
        var targetMacs = new Option<string?>("--target-macs") { Description = "with --to-ratios: the MACs budget, a fraction of the model's (0.5) or a count (200M) (default: none)" };
        var command = new Command("sensitivity", "Accuracy drop of each channel group (or layer) pruned alone at each ratio: CSV, heatmap and ranking")
            { weights, arch, json, data, split, ratios, fineGrained, roundTo, subset, seed, imageSize, batch, outDir, toRatios, targetMacs };
        command.SetAction(parse =>
        {
            var output = parse.InvocationConfiguration.Output;
            var log = parse.GetValue(json) ? parse.InvocationConfiguration.Error : output;
            var list = SweepCommand.ParseRatios(parse.GetValue(ratios)!);
            if (list.Count == 0 || list.Any(r => !(r > 0 && r < 1))) throw new ArgumentException("--ratios: give ratios in (0, 1), e.g. 0.1,0.3,0.5");
            if (list.Distinct().Count() != list.Count) throw new ArgumentException("--ratios: a ratio is given twice");
            int size = parse.GetValue(imageSize), b = parse.GetValue(batch);
            InputRules.CheckActivationMemory(size, b, training: false);
            var located = DataOptions.Open(parse.GetValue(data)!, log);
            using var model = ModelLoader.LoadNetwork(parse.GetValue(weights)!, parse.GetValue(arch), located.Test.Classes.Count, Downloads.Resolver());
            ModelLoader.RequireClasses(model, located.Test.Classes.Count, parse.GetValue(weights)!);
            if (ModelLoader.IsMasked(model)) throw new ArgumentException($"--weights {parse.GetValue(weights)}: a masked checkpoint; make it permanent first (prune fine-grained --permanent)");
            bool onTest = parse.GetValue(split) == "test";
            var pool = onTest ? located.Test : DatasetSplit.TrainValidation(located.Train, 0.9, parse.GetValue(seed)).Validation;
            if (pool.Count == 0) throw new ArgumentException($"--data {parse.GetValue(data)}: its {(onTest ? "test" : "validation")} split is empty");
            var scored = pool.Sample(parse.GetValue(subset), parse.GetValue(seed));
            var loader = new BatchLoader(scored, b, false, new BatchTransform { ImageSize = size }, TorchSharp.torch.CPU);
            bool fg = parse.GetValue(fineGrained);
            var (baseAccuracy, baseLoss, rows) = SensitivityScan.Run(model, list, loader, size, parse.GetValue(roundTo), fg, log);
            string dir = parse.GetValue(outDir)!;
            Directory.CreateDirectory(dir);
            AtomicFile.WriteAllText(Path.Combine(dir, "sensitivity.csv"), SensitivityScan.ToCsv(rows, fg));
            var ranking = SensitivityScan.Ranking(rows);
            AtomicFile.WriteAllText(Path.Combine(dir, "sensitivity_ranking.csv"), CsvTable.Format(["rank", fg ? "layer" : "group", "mean_drop"],
                ranking.Select((r, i) => (IReadOnlyList<object?>)new object?[] { i + 1, r.Unit, r.MeanDrop })));
            string heatmap = Path.Combine(dir, "sensitivity_heatmap.png");
            SensitivityScan.SaveHeatmap(rows, list, baseAccuracy, fg, heatmap);
            object? allocation = null;
            if (parse.GetValue(toRatios) is string ratiosFile)
            {
                if (fg) throw new ArgumentException("--to-ratios gives per-group channel ratios: drop --fine-grained");
                string target = parse.GetValue(targetMacs) ?? throw new ArgumentException("--to-ratios needs --target-macs (the budget the ratios must meet)");
                long baseMacs = Harness.Metrics.MacCounter.ThopMacs(model.Module, size);
                long budget = Harness.Pruning.Channels.BudgetSearch.ParseTarget(target, baseMacs, "--target-macs");
                var (groupRatios, achieved) = SensitivityScan.RatiosFor(model, rows, list, budget, size, parse.GetValue(roundTo));
                var document = GroupRatioFile.Of(groupRatios, budget, achieved, baseMacs, size);
                document.Write(ratiosFile);
                allocation = document;
                log.WriteLine($"per-group ratios for {budget:N0} MACs ({achieved:N0} reached, the model has {baseMacs:N0}): {ratiosFile}; use prune channel --group-ratios {ratiosFile} --ratio 0");
            }
            else if (parse.GetValue(targetMacs) is not null) throw new ArgumentException("--target-macs is read with --to-ratios FILE");
            if (parse.GetValue(json))
                output.WriteLine(HarnessJson.Serialize(new { split = onTest ? "test" : "val", images = scored.Count, baseAccuracy, baseLoss, rows, allocation, ranking = ranking.Select(r => new { unit = r.Unit, meanDrop = r.MeanDrop }) }));
            else
            {
                output.WriteLine($"base accuracy {100 * baseAccuracy:F2}% on {scored.Count} {(onTest ? "test" : "validation")} images; most sensitive first:");
                foreach (var (unit, drop) in ranking.Take(10)) output.WriteLine($"  {(fg ? "" : "group ")}{unit}: mean drop {100 * drop:F2} pp");
                output.WriteLine($"wrote {Path.Combine(dir, "sensitivity.csv")}, sensitivity_ranking.csv and {heatmap}");
            }
            return 0;
        });
        return command;
    }
}
