using Harness.Experiments;
using Harness.Model;
using Harness.Pruning.FineGrained;
using Harness.Storage.Checkpoints;
using Harness.Storage.Files;
using Spectre.Console;
using System.CommandLine;
using System.Globalization;

namespace Harness.Cli.Commands;

/// <summary><c>prune fine-grained</c>: masks weights (L1 or random; global or per layer; element, vector, kernel,
/// N:M or structured slices), writes the pruned checkpoint and prints the sparsity report.</summary>
public static class PruneFineGrainedCommand
{
    public static Command Create()
    {
        var weights = CommonOptions.Weights();
        var arch = CommonOptions.Arch();
        var classes = CommonOptions.Classes();
        var json = CommonOptions.Json();
        var method = InputRules.Criterion("--method", FineGrainedMethods.Registry, "how units are ranked", FineGrainedMethods.L1);
        var scope = new Option<PruningScope>("--scope") { Description = "Global (one threshold, as the study) or Layer", DefaultValueFactory = _ => PruningScope.Global };
        var granularity = new Option<Granularity>("--granularity") { Description = "Element, Vector, Kernel, NM or Structured (whole slices along --dim, ranked by --norm, per layer: ln_structured)", DefaultValueFactory = _ => Granularity.Element };
        var amount = new Option<double>("--ratio", "--amount") { Description = "fraction of unpruned units to prune (0–1; torch.nn.utils.prune's amount, also accepted as --amount), or a count with --count; not used by --granularity NM", DefaultValueFactory = _ => 0.2 };
        var count = new Option<bool>("--count") { Description = "read --ratio as an absolute number of units" };
        var n = new Option<int>("--n") { Description = "N of an N:M pattern", DefaultValueFactory = _ => 2 };
        var m = new Option<int>("--m") { Description = "M of an N:M pattern", DefaultValueFactory = _ => 4 };
        var dim = new Option<int>("--dim") { Description = "Structured: dimension whose slices are pruned (0 output channels, 1 input channels)", DefaultValueFactory = _ => 0 };
        var norm = new Option<int>("--norm") { Description = "Structured: norm ranking the slices (1 or 2)", DefaultValueFactory = _ => 1 };
        var seed = new Option<long>("--seed") { Description = "seed of random pruning", DefaultValueFactory = _ => 42 };
        var (include, exclude) = CommonOptions.LayerSelection("weights are pruned in the layers selected (default: every Conv2d and Linear)");
        var permanent = new Option<bool>("--permanent") { Description = "fold the masks into the weights before saving" };
        var sparse = new Option<bool>("--sparse") { Description = "also write the sparse checkpoint (.hsp) beside the output (with --permanent; any --weights PATH reads it back)" };
        var outPath = new Option<string?>("--out") { Description = "output checkpoint (default: pruned_models/fine_grained_<method>_<granularity>_<ratio>.pth)" };
        var force = CommonOptions.Force();
        var calibration = new CalibrationOptions();
        var targetNonzero = new Option<string?>("--target-nonzero") { Description = "prune until the model has this many nonzero parameters: a fraction of its nonzero count (0.3) or a count (1.5M); global element pruning by L1 or Taylor (default: none, use --ratio)" };
        var command = new Command("fine-grained", "Unstructured / semi-structured pruning with torch.nn.utils.prune semantics")
            { weights, arch, classes, json, method, scope, granularity, amount, count, n, m, dim, norm, seed, include, exclude, permanent, sparse, outPath, force };
        foreach (var o in calibration.All) command.Options.Add(o);
        command.Options.Add(targetNonzero);
        command.SetAction(parse =>
        {
            var output = parse.InvocationConfiguration.Output;
            var options = new FineGrainedOptions
            {
                Method = parse.GetValue(method)!,
                Scope = parse.GetValue(scope),
                Granularity = parse.GetValue(granularity),
                Amount = parse.GetValue(amount),
                AmountIsCount = parse.GetValue(count),
                N = parse.GetValue(n),
                M = parse.GetValue(m),
                Seed = parse.GetValue(seed),
                Include = parse.GetValue(include) ?? [],
                Exclude = parse.GetValue(exclude) ?? [],
                Dim = parse.GetValue(dim),
                Norm = parse.GetValue(norm),
            };
            options.Validate();
            if (parse.GetValue(sparse) && !parse.GetValue(permanent))
                throw new ArgumentException("--sparse needs --permanent: a masked checkpoint keeps weight_orig and weight_mask, so its sparse file would be larger than the dense one");
            using var model = ModelLoader.LoadNetwork(parse.GetValue(weights)!, parse.GetValue(arch), parse.GetValue(classes), Downloads.Resolver(), unchecked((ulong)parse.GetValue(seed)));
            calibration.Prepare(parse, model, options.Method.NeedsGradients, "--method", parse.GetValue(json) ? parse.InvocationConfiguration.Error : output);
            (long Target, long Before)? budget = null;
            if (parse.GetValue(targetNonzero) is string targetText)
            {
                if (parse.GetResult(amount) is { Implicit: false }) throw new ArgumentException("--ratio and --target-nonzero: give one (the target chooses the amount)");
                (options, long target, long before) = FineGrainedBudget.Resolve(model, options, targetText, "--target-nonzero");
                budget = (target, before);
            }
            var result = FineGrainedPruner.Prune(model.Module, options);
            var report = parse.GetValue(permanent) ? FineGrainedPruner.MakePermanent(model.Module) : result.Report;
            string tag = options.Granularity == Granularity.NM ? $"{options.N}of{options.M}" : options.Amount.ToString(CultureInfo.InvariantCulture);
            string path = parse.GetValue(outPath) ?? Path.Combine("pruned_models",
                $"fine_grained_{options.Method.Name.ToLowerInvariant()}_{options.Granularity.ToString().ToLowerInvariant()}_{tag}.pth");
            InputRules.RequireDistinct(path, "--out", parse.GetValue(weights)!, "--weights");
            InputRules.RequireNewOrForced(path, "--out", parse.GetValue(force));
            ModelLoader.Save(model, path);
            string? sparsePath = null;
            if (parse.GetValue(sparse))
            {
                sparsePath = Path.ChangeExtension(path, ".hsp");
                using var sd = StateDict.FromModule(model.Module);
                SparseCheckpoint.Save(sparsePath, sd, model.MetadataJson());
            }
            if (parse.GetValue(json))
            {
                output.WriteLine(HarnessJson.Serialize(new
                {
                    checkpoint = path,
                    sparseCheckpoint = sparsePath,
                    options,
                    report.Sparsity,
                    report.Layers,
                    result.SkippedLayers,
                    budget = budget is { } bud ? new { target = bud.Target, before = bud.Before, achieved = Harness.Metrics.ParameterCounter.Count(model.Module).Nonzero } : null,
                }));
                return 0;
            }
            var table = new Table().AddColumns("layer", "shape", "zeros", "density");
            foreach (var l in report.Layers)
                table.AddRow(Markup.Escape(l.Name), string.Join("×", l.Shape), l.Zeros.ToString("N0"), l.Density.ToString("P1"));
            var console = Consoles.For(output);
            console.Write(table);
            output.WriteLine($"sparsity over {report.Layers.Count} layers: {report.Sparsity:P2} ({report.Zeros:N0} of {report.Elements:N0} weights)");
            if (budget is { } b)
                output.WriteLine($"--target-nonzero {b.Target:N0}: {Harness.Metrics.ParameterCounter.Count(model.Module).Nonzero:N0} nonzero parameters (was {b.Before:N0})");
            if (result.SkippedLayers.Count > 0)
                output.WriteLine($"N:M not applicable (input dimension not a multiple of {options.M}): {string.Join(", ", result.SkippedLayers)}");
            output.WriteLine($"wrote {path}{(sparsePath is null ? "" : $" and {sparsePath}")}");
            return 0;
        });
        return command;
    }
}
