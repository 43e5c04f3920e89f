using Harness.Cli.Commands;
using Harness.Export;
using Harness.Tests.TestSupport;
using Harness.Tests.Unit.Export;
using System.Security.Cryptography;
using System.Text.Json;
using static TorchSharp.torch;

namespace Harness.Tests.Unit.Cli;

public class ExportOnnxCommandTests : TempDirectoryTest
{
    private static (int Code, string Out, string Err) Run(params string[] args) =>
        HarnessCli.Run(ExportCommand.Create(), ["export", "onnx", .. args]);

    private string Checkpoint(ExportKind kind = ExportKind.Masked)
    {
        string path = Path.Combine(Dir, $"{kind}.pth");
        ExportModels.Checkpoint(kind, ExportModels.Tiny, path).Dispose();
        return path;
    }

    [Test]
    public void ExportsACheckpointThatOnnxRuntimeRunsWithItsMetadata()
    {
        string weights = Checkpoint();
        string onnx = Path.Combine(Dir, "m.onnx");
        var (code, output, error) = Run("--weights", weights, "--out", onnx, "--image-size", "32", "--json");
        Assert.That(code, Is.Zero, error);
        using var doc = JsonDocument.Parse(output);
        Assert.That(doc.RootElement.GetProperty("opset").GetInt32(), Is.EqualTo(17));
        using var session = OnnxRun.Session(File.ReadAllBytes(onnx));
        var meta = session.ModelMetadata.CustomMetadataMap;
        string sha = Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(weights))).ToLowerInvariant();
        Assert.That(meta[OnnxMetadataKeys.SourceSha256], Is.EqualTo(sha));
        Assert.That(meta[OnnxMetadataKeys.ImageSize], Is.EqualTo("32"));
        Assert.That(meta[OnnxMetadataKeys.BatchNorm], Is.EqualTo("folded"));
        Assert.That(meta[OnnxMetadataKeys.ClassNames], Does.Contain("truck"));
        Assert.That(meta[OnnxMetadataKeys.HarnessVersion], Is.Not.Empty);
        using var x = randn(2, 3, 32, 32);
        using var logits = OnnxRun.Logits(session, x);
        Assert.That(logits.shape, Is.EqualTo(new long[] { 2, 10 }));
    }

    [Test]
    public void NoFoldBnKeepsBatchNormalizationNodes()
    {
        string onnx = Path.Combine(Dir, "m.onnx");
        var (code, _, error) = Run("--weights", Checkpoint(ExportKind.Dense), "--out", onnx, "--no-fold-bn");
        Assert.That(code, Is.Zero, error);
        using var session = OnnxRun.Session(File.ReadAllBytes(onnx));
        Assert.That(session.ModelMetadata.CustomMetadataMap[OnnxMetadataKeys.BatchNorm], Is.EqualTo("unfolded"));
        Assert.That(File.ReadAllBytes(onnx).AsSpan().IndexOf("BatchNormalization"u8), Is.GreaterThan(0));
    }

    [Test]
    public void MissingWeightsFileIsOneLineErrorNamingItAndExit2()
    {
        var (code, _, error) = Run("--weights", Path.Combine(Dir, "absent.pth"), "--out", Path.Combine(Dir, "m.onnx"));
        Assert.That(code, Is.EqualTo(2));
        Assert.That(error.Trim(), Does.StartWith("error:").And.Contain("absent.pth"));
        Assert.That(error.Trim().Split('\n'), Has.Length.EqualTo(1));
        Assert.That(File.Exists(Path.Combine(Dir, "m.onnx")), Is.False);
    }

    [Test]
    public void OutEqualToWeightsIsRefusedAndTheCheckpointIsUntouched()
    {
        string weights = Checkpoint();
        var before = File.ReadAllBytes(weights);
        var (code, _, error) = Run("--weights", weights, "--out", weights);
        Assert.That(code, Is.EqualTo(2));
        Assert.That(error.Trim(), Does.StartWith("error: --out").And.Contain("--weights"));
        Assert.That(File.ReadAllBytes(weights), Is.EqualTo(before));
    }

    [Test]
    public void MissingOutFolderIsCreated()
    {
        string onnx = Path.Combine(Dir, "new", "folder", "m.onnx");
        var (code, _, error) = Run("--weights", Checkpoint(), "--out", onnx);
        Assert.That(code, Is.Zero, error);
        Assert.That(File.Exists(onnx));
    }

    [Test]
    public void ExistingOutIsReplacedOnlyWithForce()
    {
        string weights = Checkpoint();
        string onnx = Path.Combine(Dir, "m.onnx");
        File.WriteAllText(onnx, "earlier");
        var (code, _, error) = Run("--weights", weights, "--out", onnx);
        Assert.That(code, Is.EqualTo(2));
        Assert.That(error, Does.Contain("--force"));
        Assert.That(File.ReadAllText(onnx), Is.EqualTo("earlier"));
        Assert.That(Run("--weights", weights, "--out", onnx, "--force").Code, Is.Zero);
        Assert.That(new FileInfo(onnx).Length, Is.GreaterThan(1000));
    }

    [Test]
    public void WeightsAndOutAreRequired()
    {
        var (code, _, error) = Run("--out", Path.Combine(Dir, "m.onnx"));
        Assert.That(code, Is.EqualTo(2));
        Assert.That(error, Does.Contain("--weights"));
    }

    /// <summary><c>--int8</c> calibrates on the training split of <c>--data</c>, writes a QDQ model well under the size
    /// of the float one that ONNX Runtime runs, and <c>evaluate</c> measures it in ONNX Runtime.</summary>
    [Test]
    public void Int8ExportIsCalibratedOnTheTrainingSplitAndEvaluateRunsIt()
    {
        string weights = Checkpoint(ExportKind.Dense);
        string data = SyntheticCifar.WriteBinary(Path.Combine(Dir, "cifar"), imagesPerTrainBatch: 20, testImages: 20);
        string onnx = Path.Combine(Dir, "m.int8.onnx"), plain = Path.Combine(Dir, "m.onnx");
        var (code, output, error) = Run("--weights", weights, "--out", onnx, "--image-size", "32", "--int8", "--data", data,
            "--calibration", "entropy", "--calibration-batches", "3", "--batch-size", "4", "--json");
        Assert.That(code, Is.Zero, error);
        using var doc = JsonDocument.Parse(output);
        Assert.That(doc.RootElement.GetProperty("calibration").GetProperty("method").GetString(), Is.EqualTo("entropy"));
        Assert.That(doc.RootElement.GetProperty("calibration").GetProperty("images").GetInt32(), Is.EqualTo(12));
        Assert.That(doc.RootElement.GetProperty("calibration").GetProperty("source").GetString(), Does.Contain("training split"));
        Assert.That(Run("--weights", weights, "--out", plain, "--image-size", "32").Code, Is.Zero);
        Assert.That(new FileInfo(onnx).Length, Is.LessThan(new FileInfo(plain).Length * 0.6), "a tiny network: the scales and zero points of its many small tensors weigh more than in ResNet-18 (0.25)");
        var (evalCode, evalOut, evalErr) = HarnessCli.Run(EvaluateCommand.Create(), "evaluate", "--weights", onnx, "--data", data,
            "--out", Path.Combine(Dir, "eval"), "--batch-size", "8");
        Assert.That(evalCode, Is.Zero, evalErr);
        Assert.That(evalOut, Does.Contain("(20 images, 32 px, ONNX Runtime, int8)"));
    }

    [TestCase(new[] { "--int8" }, "error: --int8 needs --data: calibration runs on its training split")]
    [TestCase(new[] { "--int8", "--data", "DATA", "--calibration", "kl" }, "error: --calibration must be one of minmax, percentile, entropy (got 'kl')")]
    [TestCase(new[] { "--calibration", "entropy" }, "error: --calibration applies only with --int8")]
    [TestCase(new[] { "--int8", "--data", "DATA", "--no-fold-bn" }, "error: --no-fold-bn: an int8 export folds BatchNorm into the convs (QLinearConv has no BatchNorm)")]
    [TestCase(new[] { "--int8", "--data", "DATA", "--calibration", "percentile", "--percentile", "40" }, "error: --percentile must lie in (50, 100] (got 40)")]
    public void Int8OptionsOutOfPlaceAreOneLineAndWriteNothing(string[] extra, string expected)
    {
        string data = SyntheticCifar.WriteBinary(Path.Combine(Dir, "cifar"), imagesPerTrainBatch: 4, testImages: 4);
        string onnx = Path.Combine(Dir, "m.onnx");
        var (code, _, error) = Run(["--weights", Checkpoint(ExportKind.Dense), "--out", onnx, "--image-size", "32",
            .. extra.Select(a => a == "DATA" ? data : a)]);
        Assert.That(code, Is.EqualTo(2));
        Assert.That(error.Trim(), Is.EqualTo(expected));
        Assert.That(File.Exists(onnx), Is.False);
    }
}
