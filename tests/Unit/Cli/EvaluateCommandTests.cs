using Harness.Cli.Commands;
using Harness.Tests.TestSupport;
using SkiaSharp;
using System.Globalization;
using System.Text.Json;

namespace Harness.Tests.Unit.Cli;

/// <summary><c>evaluate</c> reports what a researcher reads: loss and accuracy, each class's accuracy and the
/// confusion matrix, as JSON, CSV and a heatmap, all consistent with one another.</summary>
public class EvaluateCommandTests : TempDirectoryTest
{
    [Test]
    public void JsonHoldsPerClassAccuracyAndAConfusionMatrixThatAgreeWithTheAccuracy()
    {
        string data = SyntheticCifar.WriteBinary(Path.Combine(Dir, "data"), 4, 30);
        string outDir = Path.Combine(Dir, "eval");
        var (code, output, error) = HarnessCli.Run(EvaluateCommand.Create(), "evaluate", "--weights", "none", "--arch", "resnet18", "--data", data,
            "--image-size", "32", "--batch-size", "7", "--out", outDir, "--name", "r18", "--json");
        Assert.That(code, Is.EqualTo(0), error);
        var doc = JsonDocument.Parse(output).RootElement;
        int count = doc.GetProperty("count").GetInt32();
        double accuracy = doc.GetProperty("accuracy").GetDouble();
        var matrix = doc.GetProperty("confusionMatrix").EnumerateArray().Select(r => r.EnumerateArray().Select(c => c.GetInt64()).ToArray()).ToArray();
        var classes = doc.GetProperty("classes").EnumerateArray().ToList();
        Assert.That(count, Is.EqualTo(30));
        Assert.That(matrix, Has.Length.EqualTo(10).And.All.Length.EqualTo(10));
        Assert.That(matrix.Sum(r => r.Sum()), Is.EqualTo(count), "every image is counted once");
        Assert.That((double)Enumerable.Range(0, 10).Sum(i => matrix[i][i]) / count, Is.EqualTo(accuracy).Within(1e-12), "the diagonal is the accuracy");
        for (int i = 0; i < 10; i++)
        {
            Assert.That(classes[i].GetProperty("images").GetInt64(), Is.EqualTo(matrix[i].Sum()), $"class {i}: a row holds that class's images");
            Assert.That(classes[i].GetProperty("correct").GetInt64(), Is.EqualTo(matrix[i][i]));
            var acc = classes[i].GetProperty("accuracy");
            if (matrix[i].Sum() == 0) Assert.That(acc.ValueKind, Is.EqualTo(JsonValueKind.Null));
            else Assert.That(acc.GetDouble(), Is.EqualTo((double)matrix[i][i] / matrix[i].Sum()).Within(1e-12));
        }
        Assert.That(classes[0].GetProperty("name").GetString(), Is.EqualTo("airplane"));

        var perClass = File.ReadAllLines(Path.Combine(outDir, "r18_per_class.csv"));
        Assert.That(perClass[0], Is.EqualTo("class,images,correct,accuracy"));
        Assert.That(perClass, Has.Length.EqualTo(11));
        var confusion = File.ReadAllLines(Path.Combine(outDir, "r18_confusion_matrix.csv"));
        Assert.That(confusion[0], Is.EqualTo("true_class,predicted_class,count"));
        Assert.That(confusion.Skip(1).Sum(l => long.Parse(l.Split(',')[2], CultureInfo.InvariantCulture)), Is.EqualTo(count));
        Assert.That(File.ReadAllText(Path.Combine(outDir, "r18_evaluation.json")).Trim(), Is.EqualTo(output.Trim()));
        using var png = SKBitmap.Decode(Path.Combine(outDir, "r18_confusion_matrix.png"));
        Assert.That(png, Is.Not.Null);
        Assert.That(png.Width, Is.GreaterThan(540).And.LessThan(1200), "ten 54-px columns with labels");
    }

    [Test]
    public void MetricsWithDataFillsTheAccuracyColumnsAndWritesTheSameEvaluation()
    {
        string data = SyntheticCifar.WriteBinary(Path.Combine(Dir, "data"), 4, 20);
        string outDir = Path.Combine(Dir, "m");
        var (code, output, error) = HarnessCli.Run(MetricsCommand.Create(), "metrics", "--arch", "resnet18", "--data", data, "--image-size", "32",
            "--runs", "1", "--out", outDir, "--name", "r18", "--json");
        Assert.That(code, Is.EqualTo(0), error);
        var m = JsonDocument.Parse(output).RootElement[0];
        var evaluation = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "r18_evaluation.json"))).RootElement;
        Assert.That(m.GetProperty("testAccuracy").GetDouble(), Is.EqualTo(evaluation.GetProperty("accuracy").GetDouble()));
        Assert.That(m.GetProperty("testLoss").GetDouble(), Is.EqualTo(evaluation.GetProperty("loss").GetDouble()));
        Assert.That(evaluation.GetProperty("count").GetInt32(), Is.EqualTo(20));
        Assert.That(File.Exists(Path.Combine(outDir, "r18_confusion_matrix.png")));
        var csv = File.ReadAllLines(Path.Combine(outDir, "r18_metrics.csv"));
        int column = Array.IndexOf(csv[0].Split(','), "test_accuracy");
        Assert.That(Cells(csv[1])[column], Is.EqualTo(Harness.Storage.Files.CsvTable.Cell(m.GetProperty("testAccuracy").GetDouble())), "test accuracy in the CSV at full precision");
    }

    /// <summary>The cells of one CSV row (RFC 4180: a quoted cell may hold commas and doubled quotes).</summary>
    private static List<string> Cells(string row)
    {
        var cells = new List<string>();
        var cell = new System.Text.StringBuilder();
        bool quoted = false;
        for (int i = 0; i < row.Length; i++)
        {
            char c = row[i];
            if (quoted && c == '"' && i + 1 < row.Length && row[i + 1] == '"') { cell.Append('"'); i++; }
            else if (c == '"') quoted = !quoted;
            else if (c == ',' && !quoted) { cells.Add(cell.ToString()); cell.Clear(); }
            else cell.Append(c);
        }
        cells.Add(cell.ToString());
        return cells;
    }
}
