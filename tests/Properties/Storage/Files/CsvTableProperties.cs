using CsvHelper;
using CsvHelper.Configuration;
using FsCheck;
using FsCheck.Fluent;
using Harness.Storage.Files;
using System.Globalization;

namespace Harness.Tests.Properties.Storage.Files;

/// <summary>Harness's one CSV writer read back by an independent RFC 4180 reader (CsvHelper): every cell parses to
/// what was written, doubles to the same bits, and the header style is enforced.</summary>
public class CsvTableProperties
{
    private static readonly Config Quick = Config.QuickThrowOnFailure.WithMaxTest(200);

    private static List<string[]> ReadBack(string csv)
    {
        using var reader = new CsvReader(new StringReader(csv), new CsvConfiguration(CultureInfo.InvariantCulture) { HasHeaderRecord = false });
        var rows = new List<string[]>();
        while (reader.Read()) rows.Add(Enumerable.Range(0, reader.Parser.Count).Select(i => reader.GetField(i)!).ToArray());
        return rows;
    }

    [Test]
    public void DoublesAndTextCellsReadBackExactly()
    {
        var text = Gen.Elements("plain", "with,comma", "with \"quotes\"", "line\nbreak", "×", "", " lead", "a\r\nb").ListOf();
        Prop.ForAll(ArbMap.Default.ArbFor<double>(), ArbMap.Default.ArbFor<long>(), text.ToArbitrary(), (d, n, words) =>
        {
            string word = string.Concat(words);
            string csv = CsvTable.Format(["value", "count", "label"], [[d, n, word], [null, -n, word + ","]]);
            var rows = ReadBack(csv);
            double back = double.Parse(rows[1][0], CultureInfo.InvariantCulture);
            bool sameDouble = double.IsNaN(d) ? double.IsNaN(back) : BitConverter.DoubleToInt64Bits(back) == BitConverter.DoubleToInt64Bits(d);
            return rows.Count == 3 && rows[0].SequenceEqual(["value", "count", "label"]) && sameDouble
                   && rows[1][1] == n.ToString(CultureInfo.InvariantCulture) && rows[1][2] == word
                   && rows[2][0] == "" && rows[2][2] == word + ",";
        }).Check(Quick);
    }

    [TestCase("Test Loss")]
    [TestCase("sparsity %")]
    [TestCase("trainLoss")]
    [TestCase("val__acc")]
    [TestCase("_x")]
    public void HeadersThatAreNotSnakeCaseAreRefused(string column)
    {
        var ex = Assert.Throws<ArgumentException>(() => CsvTable.Format(["epoch", column], []));
        Assert.That(ex!.Message, Does.Contain(column));
    }

    [Test]
    public void ARowOfTheWrongLengthIsRefused() =>
        Assert.Throws<ArgumentException>(() => CsvTable.Format(["a", "b"], [[1, 2], [3]]));
}
