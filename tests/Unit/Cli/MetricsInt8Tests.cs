using Harness.Cli.Commands;
using Harness.Metrics;
using Harness.Tests.TestSupport;
using System.Text.Json;

namespace Harness.Tests.Unit.Cli;

/// <summary><c>metrics --int8</c> adds a checkpoint's int8 figures; <c>metrics --runtime onnx</c> on an int8 .onnx
/// file measures the file itself and reports it in the int8 columns (its MACs and parameters are those of the
/// network it dequantizes to).</summary>
public class MetricsInt8Tests : TempDirectoryTest
{
    [Test]
    public void Int8FiguresOfACheckpointAndOfAnInt8OnnxFileAgree()
    {
        string weights = Path.Combine(Dir, "m.pth");
        ExportModels.Checkpoint(ExportKind.ChannelPruned, ExportModels.Tiny, weights).Dispose();
        string data = SyntheticCifar.WriteBinary(Path.Combine(Dir, "cifar"), imagesPerTrainBatch: 30, testImages: 30);
        var (code, output, error) = HarnessCli.Run(MetricsCommand.Create(), "metrics", "--weights", weights, "--int8", "--data", data,
            "--image-size", "32", "--runs", "3", "--json");
        Assert.That(code, Is.Zero, error);
        var fromCheckpoint = JsonSerializer.Deserialize<List<ModelMetrics>>(output, Harness.Storage.Files.HarnessJson.Options)![0];
        Assert.That(fromCheckpoint.Int8, Is.Not.Null);
        Assert.That(fromCheckpoint.Int8!.Calibration, Is.EqualTo("minmax, 8×16 training images (seed 42)"));
        Assert.That(fromCheckpoint.Int8.Latency!.Runs, Is.EqualTo(3));
        Assert.That(fromCheckpoint.OnnxLatency, Is.Not.Null, "the float export is timed beside the int8 one");

        string onnx = Path.Combine(Dir, "m.int8.onnx");
        var export = HarnessCli.Run(ExportCommand.Create(), "export", "onnx", "--weights", weights, "--out", onnx, "--image-size", "32",
            "--int8", "--data", data);
        Assert.That(export.Code, Is.Zero, export.Err);
        var (fileCode, fileOut, fileErr) = HarnessCli.Run(MetricsCommand.Create(), "metrics", "--weights", onnx, "--runtime", "onnx",
            "--data", data, "--image-size", "32", "--runs", "3", "--json");
        Assert.That(fileCode, Is.Zero, fileErr);
        var fromFile = JsonSerializer.Deserialize<List<ModelMetrics>>(fileOut, Harness.Storage.Files.HarnessJson.Options)![0];
        Assert.That(fromFile.Int8!.SizeBytes, Is.EqualTo(new FileInfo(onnx).Length));
        Assert.That(fromFile.Int8.TestAccuracy, Is.EqualTo(fromCheckpoint.Int8.TestAccuracy), "the same calibration, the same int8 model");
        Assert.That(fromFile.TestAccuracy, Is.Null, "a quantized file has no float accuracy");
        // MACs and parameters are the float network's with BatchNorm folded, as the float export imports.
        string floatOnnx = Path.Combine(Dir, "m.onnx");
        Assert.That(HarnessCli.Run(ExportCommand.Create(), "export", "onnx", "--weights", weights, "--out", floatOnnx, "--image-size", "32").Code, Is.Zero);
        var (floatCode, floatOut, floatErr) = HarnessCli.Run(MetricsCommand.Create(), "metrics", "--weights", floatOnnx, "--image-size", "32", "--runs", "0", "--json");
        Assert.That(floatCode, Is.Zero, floatErr);
        var folded = JsonSerializer.Deserialize<List<ModelMetrics>>(floatOut, Harness.Storage.Files.HarnessJson.Options)![0];
        Assert.That(fromFile.Parameters, Is.EqualTo(folded.Parameters));
        Assert.That(fromFile.MacsThop, Is.EqualTo(folded.MacsThop));
    }

    [Test]
    public void Int8WithoutDataIsOneLine()
    {
        string weights = Path.Combine(Dir, "m.pth");
        ExportModels.Checkpoint(ExportKind.Dense, ExportModels.Tiny, weights).Dispose();
        var (code, _, error) = HarnessCli.Run(MetricsCommand.Create(), "metrics", "--weights", weights, "--int8", "--runs", "0");
        Assert.That(code, Is.EqualTo(2));
        Assert.That(error.Trim(), Is.EqualTo("error: --int8 needs --data: calibration runs on its training split"));
    }
}
