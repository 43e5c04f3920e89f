using Harness.Cli.Commands;
using Harness.Tests.TestSupport;

namespace Harness.Tests.Unit.Cli;

public class BenchCommandTests
{
    [TestCase("mobilenet_v2")]
    [TestCase("resnet18")]
    public void BenchDataTimesTheTrainingStepOfTheArchGiven(string arch)
    {
        var (code, output, error) = HarnessCli.Run(BenchCommand.Create(), "bench", "data", "--arch", arch, "--sizes", "32", "--steps", "1", "--batch-size", "4");
        Assert.That(code, Is.EqualTo(0), error);
        Assert.That(output, Does.StartWith($"{arch}, threads").And.Contain("32px: pipeline").And.Contain("training step"));
    }

    [TestCase("data")]
    [TestCase("prune")]
    [TestCase("onnx")]
    [TestCase("compare")]
    public void EveryBenchTakesArchAndRefusesAnUnknownOneInOneLine(string bench)
    {
        var (code, _, error) = HarnessCli.Run(BenchCommand.Create(), "bench", bench, "--arch", "vgg16");
        Assert.That(code, Is.EqualTo(2));
        Assert.That(error.Trim().Split('\n'), Has.Length.EqualTo(1));
        Assert.That(error, Does.Contain("--arch").And.Contain("resnet18"));
    }

    [Test]
    public void MissingTorchOnnxFileIsOneLineErrorNamingTheOptionAndExit2()
    {
        var (code, _, error) = HarnessCli.Run(BenchCommand.Create(), "bench", "onnx", "--torch-onnx", "/nonexistent/b0.onnx");
        Assert.That(code, Is.EqualTo(2));
        Assert.That(error.Trim(), Does.StartWith("error: --torch-onnx").And.Contain("/nonexistent/b0.onnx"));
        Assert.That(error.Trim().Split('\n'), Has.Length.EqualTo(1));
    }

    [Test]
    public void ZeroRoundsIsOneLineErrorNamingTheOptionAndExit2()
    {
        var (code, _, error) = HarnessCli.Run(BenchCommand.Create(), "bench", "onnx", "--rounds", "0");
        Assert.That(code, Is.EqualTo(2));
        Assert.That(error, Does.Contain("--rounds"));
        Assert.That(error.Trim().Split('\n'), Has.Length.EqualTo(1));
    }
}
