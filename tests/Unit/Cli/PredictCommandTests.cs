using Harness.Cli.Commands;
using Harness.Data;
using Harness.Data.ImageFolder;
using Harness.Model;
using Harness.Model.Families;
using Harness.Tests.TestSupport;
using System.Text.Json;
using static TorchSharp.torch;

namespace Harness.Tests.Unit.Cli;

public class PredictCommandTests : TempDirectoryTest
{
    private static readonly string[] SampleClasses = ["cat", "dog", "ship", "truck"];

    private static (int Code, string Out, string Err) Run(params string[] args) =>
        HarnessCli.Run(PredictCommand.Create(), ["predict", .. args]);

    /// <summary>A seeded tiny model with random BatchNorm statistics, saved in <see cref="TempDirectoryTest.Dir"/>.</summary>
    private string SaveModel()
    {
        using var model = EfficientNets.Create(EfficientNetConfig.Scaled(0.25, 0.34, 10), 21);
        RandomBatchNorm.Randomise(model, 21);
        string path = Path.Combine(Dir, "model.pth");
        ModelLoader.Save(model, path);
        return path;
    }

    /// <summary>Two real CIFAR-10 test JPEGs of each of four classes, copied to <c>Dir/images/&lt;class&gt;/</c>.</summary>
    private string CopyImages()
    {
        string shared = SharedData.RequireShared("cifar10-jpeg/test");
        string root = Path.Combine(Dir, "images");
        foreach (string c in SampleClasses)
        {
            Directory.CreateDirectory(Path.Combine(root, c));
            foreach (string name in new[] { "0000.jpg", "0001.jpg" })
                File.Copy(Path.Combine(shared, c, name), Path.Combine(root, c, name));
        }
        return root;
    }

    private static List<string> ImagesUnder(string root) =>
        Directory.GetFiles(root, "*.jpg", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToList();

    /// <summary>Softmax probabilities of the unfolded model through the evaluation path: an ImageDataset of the
    /// decoded images, the BatchLoader with the evaluation transform, eval mode, no gradients.</summary>
    private static float[,] EvaluationProbabilities(string weights, IReadOnlyList<string> files, int imageSize)
    {
        var decoded = files.Select(ImageDecoder.Decode).ToList();
        var set = new ImageDataset(decoded.SelectMany(d => d.Chw).ToArray(), new byte[files.Count], decoded[0].Height,
            decoded[0].Width, Harness.Data.Cifar.CifarClasses.Names, "sample");
        using var model = EfficientNets.LoadCheckpoint(weights);
        model.eval();
        var loader = new BatchLoader(set, 3, false, new BatchTransform { ImageSize = imageSize }, CPU);
        var result = new float[files.Count, 10];
        int row = 0;
        using var _ = no_grad();
        foreach (var batch in loader.Epoch(0))
            using (batch)
            using (var scope = NewDisposeScope())
            {
                var p = nn.functional.softmax(model.call(batch.Images), 1).data<float>().ToArray();
                for (int i = 0; i < batch.Count; i++, row++)
                    for (int c = 0; c < 10; c++) result[row, c] = p[i * 10 + c];
            }
        return result;
    }

    [TestCase(32)]
    [TestCase(64)]
    public void TopClassIsTheArgmaxOfTheEvaluationPathsLogits(int imageSize)
    {
        string images = CopyImages();
        string weights = SaveModel();
        var (code, output, error) = Run("--weights", weights, "--image-size", imageSize.ToString(), "--batch-size", "3",
            "--top", "10", "--device", "cpu", "--json", images);
        Assert.That(code, Is.Zero, error);
        var files = ImagesUnder(images);
        var expected = EvaluationProbabilities(weights, files, imageSize);
        using var doc = JsonDocument.Parse(output);
        var predictions = doc.RootElement.GetProperty("predictions").EnumerateArray().ToList();
        Assert.That(predictions.Select(p => p.GetProperty("path").GetString()), Is.EqualTo(files));
        for (int i = 0; i < files.Count; i++)
        {
            var top = predictions[i].GetProperty("top").EnumerateArray().ToList();
            int argmax = Enumerable.Range(0, 10).MaxBy(c => expected[i, c]);
            Assert.That(top[0].GetProperty("index").GetInt32(), Is.EqualTo(argmax), files[i]);
            Assert.That(top[0].GetProperty("name").GetString(), Is.EqualTo(Harness.Data.Cifar.CifarClasses.Names[argmax]));
            foreach (var entry in top)
                Assert.That(entry.GetProperty("probability").GetDouble(),
                    Is.EqualTo(expected[i, entry.GetProperty("index").GetInt32()]).Within(1e-5), files[i]);
        }
    }

    [Test]
    public void AFileThatIsNotAnImageIsOneErrorLineNamingItWhileTheOthersArePredicted()
    {
        string images = CopyImages();
        string bad = Path.Combine(images, "cat", "0000-notes.jpg");
        File.WriteAllText(bad, "this is not a JPEG");
        var (code, output, error) = Run("--weights", SaveModel(), "--image-size", "32", "--top", "2", images);
        Assert.That(code, Is.EqualTo(2));
        Assert.That(error.Trim().Split('\n'), Has.Length.EqualTo(1));
        Assert.That(error.Trim(), Does.StartWith("error:").And.Contain(bad));
        var lines = output.Trim().Split('\n');
        Assert.That(lines, Has.Length.EqualTo(2 * SampleClasses.Length));
        Assert.That(lines, Has.None.Contain("0000-notes.jpg"));
    }

    [Test]
    public void AMissingPathIsAnErrorNamingItAndTheOtherImagesArePredicted()
    {
        string image = ImagesUnder(CopyImages())[0];
        string missing = Path.Combine(Dir, "missing.jpg");
        var (code, output, error) = Run("--weights", SaveModel(), "--image-size", "32", missing, image);
        Assert.That(code, Is.EqualTo(2));
        Assert.That(error.Trim(), Does.StartWith("error:").And.Contain(missing));
        Assert.That(error.Trim().Split('\n'), Has.Length.EqualTo(1));
        Assert.That(output, Does.StartWith(image + ":"));
    }

    [Test]
    public void JsonIsOneDocumentWithTopKClassesInDescendingProbabilityAndTheErrors()
    {
        string images = CopyImages();
        File.WriteAllText(Path.Combine(images, "dog", "broken.png"), "no PNG here");
        var (code, output, _) = Run("--weights", SaveModel(), "--image-size", "32", "--top", "3", "--json", images);
        Assert.That(code, Is.EqualTo(2));
        using var doc = JsonDocument.Parse(output);
        var root = doc.RootElement;
        Assert.That(root.GetProperty("runtime").GetString(), Is.EqualTo("torch"));
        Assert.That(root.GetProperty("imageSize").GetInt32(), Is.EqualTo(32));
        Assert.That(root.GetProperty("errors").GetArrayLength(), Is.EqualTo(1));
        Assert.That(root.GetProperty("errors")[0].GetProperty("path").GetString(), Does.EndWith("broken.png"));
        foreach (var p in root.GetProperty("predictions").EnumerateArray())
        {
            var probabilities = p.GetProperty("top").EnumerateArray().Select(t => t.GetProperty("probability").GetDouble()).ToList();
            Assert.That(probabilities, Has.Count.EqualTo(3));
            Assert.That(probabilities, Is.Ordered.Descending);
            Assert.That(probabilities.Sum(), Is.LessThanOrEqualTo(1 + 1e-6));
        }
    }

    [TestCase(false)]
    [TestCase(true)]
    public void OnnxRuntimeGivesTheEvaluationPathsProbabilities(bool exportedFile)
    {
        string images = CopyImages();
        string weights = SaveModel();
        string onnx = Path.Combine(Dir, "model.onnx");
        if (exportedFile)
        {
            var export = HarnessCli.Run("export", "onnx", "--weights", weights, "--out", onnx, "--image-size", "48");
            Assert.That(export.Code, Is.Zero, export.Err);
        }
        // An exported file carries its image size (48); a checkpoint run in ONNX Runtime takes --image-size.
        string[] args = exportedFile
            ? ["--weights", onnx, "--batch-size", "3", "--top", "10", "--json", images]
            : ["--weights", weights, "--runtime", "onnx", "--image-size", "48", "--batch-size", "3", "--top", "10", "--json", images];
        var (code, output, error) = Run(args);
        Assert.That(code, Is.Zero, error);
        var files = ImagesUnder(images);
        var expected = EvaluationProbabilities(weights, files, 48);
        using var doc = JsonDocument.Parse(output);
        Assert.That(doc.RootElement.GetProperty("runtime").GetString(), Is.EqualTo("onnx"));
        Assert.That(doc.RootElement.GetProperty("imageSize").GetInt32(), Is.EqualTo(48));
        var predictions = doc.RootElement.GetProperty("predictions").EnumerateArray().ToList();
        Assert.That(predictions, Has.Count.EqualTo(files.Count));
        for (int i = 0; i < files.Count; i++)
            foreach (var c in predictions[i].GetProperty("top").EnumerateArray())
                Assert.That(c.GetProperty("probability").GetDouble(), Is.EqualTo(expected[i, c.GetProperty("index").GetInt32()]).Within(1e-5), files[i]);
    }

    /// <summary>An .onnx file runs in ONNX Runtime by default; <c>--runtime torch</c> imports it as a graph network
    /// (its own test: <c>GraphNetworkTests</c>), so a missing one is the same error line as any missing weights.</summary>
    [Test]
    public void AMissingOnnxFileIsTheUsualErrorInTorchToo()
    {
        var (code, _, error) = Run("--weights", Path.Combine(Dir, "m.onnx"), "--runtime", "torch", Path.Combine(Dir, "any.jpg"));
        Assert.That(code, Is.EqualTo(2));
        // One line for the missing image, one for the missing weights.
        Assert.That(error.Trim().Split('\n')[^1], Does.StartWith("error: --weights").And.Contain("m.onnx"));
    }

    /// <summary>A model trained by <c>train</c> on real JPEGs (an image-folder data set whose test folder holds the
    /// training images, so that it learns them): the share of test images whose top-1 class under <c>predict</c>
    /// (both runtimes) is the folder's class equals the accuracy <c>evaluate</c> reports on the same folder.</summary>
    [Test]
    public void ATrainedModelsTopOneAgreesWithEvaluate()
    {
        string shared = SharedData.RequireShared("cifar10-jpeg/test");
        string data = Path.Combine(Dir, "data");
        var names = Harness.Data.Cifar.CifarClasses.Names;
        foreach (string split in new[] { "train", "test" })
            foreach (string c in names)
            {
                Directory.CreateDirectory(Path.Combine(data, split, c));
                for (int k = 0; k < 4; k++)
                    File.Copy(Path.Combine(shared, c, $"{k:D4}.jpg"), Path.Combine(data, split, c, $"{k:D4}.jpg"));
            }
        string outDir = Path.Combine(Dir, "out");
        var train = HarnessCli.Run("train", "--weights", "none", "--data", data, "--image-size", "32", "--batch-size", "12",
            "--epochs", "15", "--lr", "0.002", "--freeze", "none", "--name", "m", "--out", outDir, "--device", "cpu");
        Assert.That(train.Code, Is.Zero, train.Err);
        string weights = Path.Combine(outDir, "models", "m.pth");
        var evaluate = HarnessCli.Run("evaluate", "--weights", weights, "--data", data, "--image-size", "32", "--device", "cpu", "--json");
        Assert.That(evaluate.Code, Is.Zero, evaluate.Err);
        double accuracy;
        using (var doc = JsonDocument.Parse(evaluate.Out)) accuracy = doc.RootElement.GetProperty("accuracy").GetDouble();
        foreach (string runtime in new[] { "torch", "onnx" })
        {
            var (code, output, error) = Run("--weights", weights, "--runtime", runtime, "--image-size", "32", "--top", "1", "--json",
                Path.Combine(data, "test"));
            Assert.That(code, Is.Zero, error);
            using var doc = JsonDocument.Parse(output);
            var predictions = doc.RootElement.GetProperty("predictions").EnumerateArray().ToList();
            Assert.That(predictions, Has.Count.EqualTo(40));
            int correct = predictions.Count(p => p.GetProperty("top")[0].GetProperty("name").GetString() ==
                Path.GetFileName(Path.GetDirectoryName(p.GetProperty("path").GetString())));
            Assert.That(correct / 40.0, Is.EqualTo(accuracy).Within(1e-9), runtime);
            // Not a constant model (which would agree trivially): it tells some of the classes apart.
            Assert.That(predictions.Select(p => p.GetProperty("top")[0].GetProperty("index").GetInt32()).Distinct().Count(), Is.GreaterThan(1), runtime);
        }
    }
}
