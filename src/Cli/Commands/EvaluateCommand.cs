using Harness.Data;
using Harness.Model;
using Harness.Storage.Files;
using Harness.Training;
using System.CommandLine;
using TorchSharp;

namespace Harness.Cli.Commands;

/// <summary><c>evaluate</c>: test loss and accuracy of a model.</summary>
public static class EvaluateCommand
{
    public static Command Create()
    {
        var data = new DataOptions();
        var weights = CommonOptions.TrainedWeights();
        var arch = CommonOptions.Arch();
        var device = CommonOptions.Device();
        var json = CommonOptions.Json();
        var outDir = new Option<string>("--out") { Description = "folder for the per-class CSV, the confusion matrix (CSV and PNG heatmap) and the evaluation JSON", DefaultValueFactory = _ => "evaluation" };
        var name = new Option<string?>("--name") { Description = "name of the files (default: the checkpoint's file name)" }.PlainName();
        var command = new Command("evaluate", "Test loss, accuracy, per-class accuracy and confusion matrix of a model") { weights, arch, device, json, outDir, name };
        foreach (var o in data.ForEvaluation) command.Options.Add(o);
        command.SetAction(parse =>
        {
            var output = parse.InvocationConfiguration.Output;
            var dev = DeviceChoice.Parse(parse.GetValue(device)!);
            InputRules.CheckActivationMemory(parse.GetValue(data.ImageSize), parse.GetValue(data.BatchSize), training: false);
            var located = DataOptions.Open(parse.GetValue(data.Data)!, parse.GetValue(json) ? TextWriter.Null : output, parse.GetValue(data.Download));
            var test = located.Test.Sample(parse.GetValue(data.TestSubset), parse.GetValue(data.Seed));
            using var model = ModelLoader.LoadNetwork(parse.GetValue(weights)!, parse.GetValue(arch), located.Test.Classes.Count, Downloads.Resolver(), parse.GetValue(data.Seed));
            ModelLoader.RequireClasses(model, located.Test.Classes.Count, parse.GetValue(weights)!);
            model.Module.to(dev);
            var loader = new BatchLoader(test, parse.GetValue(data.BatchSize), false, new BatchTransform { ImageSize = parse.GetValue(data.ImageSize) }, dev);
            var byClass = Evaluator.EvaluateByClass(model.Module, loader, located.Test.Classes);
            var result = byClass.Overall;
            string w = parse.GetValue(weights)!;
            string label = parse.GetValue(name) ?? (File.Exists(w) ? Path.GetFileNameWithoutExtension(w) : $"{parse.GetValue(arch) ?? ModelLoader.DefaultVariant}_{w}");
            var (report, files) = EvaluationReport.Write(parse.GetValue(outDir)!, label, w, byClass);
            if (parse.GetValue(json)) output.WriteLine(HarnessJson.Serialize(report));
            else
            {
                output.WriteLine($"Test Loss: {result.Loss:F4} | Test Acc: {100 * result.Accuracy:F2}% ({result.Count} images)");
                EvaluationReport.WritePerClass(output, byClass);
                output.WriteLine($"wrote {files.Heatmap}, {files.PerClass}, {files.Confusion} and {files.Evaluation}");
            }
            return 0;
        });
        return command;
    }
}
