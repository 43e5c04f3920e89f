using Harness.Cli;
using Harness.Cli.Commands;
using Harness.Model;
using Harness.Tests.TestSupport;
using System.CommandLine;
using System.Text.Json;

namespace Harness.Tests.Parity;

/// <summary><c>evaluate</c> on the shared CIFAR-10 sample (all 1,017 test images, python layout) gives the loss and
/// accuracy that the same computation in PyTorch gives (≤ 1e-6 relative).</summary>
[TestFixture, Category("Parity")]
public sealed class EvaluationParityTests : ParityFixture
{
    [TestCaseSource(nameof(Variants))]
    public void EvaluateEqualsPyTorchOnTheSharedSample(string variant)
    {
        string data = SharedData.RequireShared("cifar10-sample");
        string checkpoint = In($"{variant}.pth");
        using (var model = SeededModel(variant, 61)) ModelLoader.Save(model, checkpoint);
        const int imageSize = 32, batchSize = 128;
        File.WriteAllText(In("params.json"), JsonSerializer.Serialize(new
        {
            checkpoint,
            data,
            variant,
            image_size = imageSize,
            batch_size = batchSize,
        }));
        PythonTorch.Run("evaluate_sample.py", Exchange);
        var torch = JsonDocument.Parse(File.ReadAllText(In("evaluation.json"))).RootElement;

        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = CliRunner.Run(new RootCommand { EvaluateCommand.Create() },
            ["evaluate", "--weights", checkpoint, "--data", data, "--image-size", $"{imageSize}", "--batch-size", $"{batchSize}", "--json"],
            stdout, stderr);
        Assert.That(code, Is.EqualTo(0), stderr.ToString());
        var harness = JsonDocument.Parse(stdout.ToString()).RootElement;
        double loss = harness.GetProperty("loss").GetDouble(), accuracy = harness.GetProperty("accuracy").GetDouble();
        double torchLoss = torch.GetProperty("loss").GetDouble(), torchAccuracy = torch.GetProperty("accuracy").GetDouble();
        Report($"{variant}: {torch.GetProperty("count").GetInt32()} images; loss Harness {loss:R} PyTorch {torchLoss:R} " +
               $"(relative {Math.Abs(loss - torchLoss) / torchLoss:E2}); accuracy {accuracy:R} vs {torchAccuracy:R}");
        Assert.That(harness.GetProperty("count").GetInt32(), Is.EqualTo(torch.GetProperty("count").GetInt32()));
        Assert.That(Math.Abs(loss - torchLoss) / torchLoss, Is.LessThanOrEqualTo(1e-6));
        Assert.That(Math.Abs(accuracy - torchAccuracy), Is.LessThanOrEqualTo(1e-6));
    }
}
