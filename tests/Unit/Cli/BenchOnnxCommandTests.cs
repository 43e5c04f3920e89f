using Harness.Cli.Commands;

namespace Harness.Tests.Unit.Cli;

public class BenchOnnxCommandTests
{
    [Test]
    public void MissingTorchOnnxFileIsOneLineErrorNamingTheOptionAndExit2()
    {
        var (code, _, error) = CliHarness.Run(BenchCommand.Create(), "bench", "onnx", "--torch-onnx", "/nonexistent/b0.onnx");
        Assert.That(code, Is.EqualTo(2));
        Assert.That(error.Trim(), Does.StartWith("error: --torch-onnx").And.Contain("/nonexistent/b0.onnx"));
        Assert.That(error.Trim().Split('\n'), Has.Length.EqualTo(1));
    }
}
