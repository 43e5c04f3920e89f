using Harness.Model;
using Harness.Storage.Files;
using Spectre.Console;
using System.CommandLine;

namespace Harness.Cli.Commands;

/// <summary><c>summary</c>: builds the model from <c>--weights</c> and prints parameter count, state-dict tensor
/// count and the layer table (or JSON).</summary>
public static class SummaryCommand
{
    public static Command Create()
    {
        var weights = CommonOptions.Weights();
        var arch = CommonOptions.Arch();
        var classes = CommonOptions.Classes();
        var json = CommonOptions.Json();
        var command = new Command("summary", "Build a network (EfficientNet-B0 unless --arch or the checkpoint says otherwise) and print its parameters and layer table") { weights, arch, classes, json };
        command.SetAction(parse =>
        {
            var output = parse.InvocationConfiguration.Output;
            using var model = ModelLoader.LoadNetwork(parse.GetValue(weights)!, parse.GetValue(arch), parse.GetValue(classes), Downloads.Resolver());
            var summary = ModelSummary.Of(model);
            if (parse.GetValue(json))
            {
                output.WriteLine(HarnessJson.Serialize(summary));
                return 0;
            }
            var console = Consoles.For(output);
            var table = new Table().AddColumns("layer", "type", "weight", "parameters");
            table.Columns[3].RightAligned();
            foreach (var row in summary.Layers)
                table.AddRow(Markup.Escape(row.Name), row.Type, row.ShapeText, row.Parameters.ToString("N0"));
            console.Write(table);
            console.WriteLine($"{summary.Architecture}, {summary.NumClasses} classes{(summary.Masked ? ", masked" : "")}");
            console.WriteLine($"parameters: {summary.Parameters:N0} (trainable {summary.TrainableParameters:N0})");
            console.WriteLine($"state-dict tensors: {summary.StateDictTensors}");
            console.WriteLine($"stages (--freeze numbers them): {summary.Stages.Count}");
            for (int k = 0; k < summary.Stages.Count; k++)
                console.WriteLine($"  {k}: {StageText(summary.Stages[k])}");
            return 0;
        });
        return command;
    }

    /// <summary>A stage's prefixes, the first and last few when there are many.</summary>
    private static string StageText(IReadOnlyList<string> prefixes) =>
        Markup.Escape(prefixes.Count <= 6
            ? string.Join(", ", prefixes)
            : $"{string.Join(", ", prefixes.Take(3))}, … {string.Join(", ", prefixes.TakeLast(2))} ({prefixes.Count} modules)");
}
