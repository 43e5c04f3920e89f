using TorchSharp;
using System.CommandLine;
using Harness.Data;
using Harness.Model;
using Harness.Training;

namespace Harness.Cli.Commands;

/// <summary><c>evaluate</c>: test loss and accuracy of a model.</summary>
public static class EvaluateCommand
{
    public static Command Create()
    {
        var data = new DataOptions();
        var weights = CommonOptions.Weights("models/efficientnet_b0_base.pth");
        var arch = CommonOptions.Arch();
        var device = CommonOptions.Device();
        var json = CommonOptions.Json();
        var command = new Command("evaluate", "Test loss and accuracy of a model") { weights, arch, device, json };
        foreach (var o in data.All) command.Options.Add(o);
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
            var result = Evaluator.Evaluate(model.Module, loader);
            if (parse.GetValue(json)) output.WriteLine(Json.Serialize(result));
            else output.WriteLine($"Test Loss: {result.Loss:F4} | Test Acc: {100 * result.Accuracy:F2}% ({result.Count} images)");
            return 0;
        });
        return command;
    }
}
