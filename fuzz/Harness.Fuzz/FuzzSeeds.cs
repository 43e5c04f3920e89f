using Harness.Experiments;
using Harness.Export;
using Harness.Model;
using Harness.Model.Networks;
using Harness.Pruning.Channels;
using SkiaSharp;
using System.Text.Json;

namespace Harness.Fuzz;

/// <summary>
/// Seeds written by Harness itself: small networks (every channel space at most 4 wide, so files stay a few
/// tens of KB) in each checkpoint format and as ONNX, the files the ratio/sensitivity/config readers take, images in
/// the formats SkiaSharp encodes, and the JSON names of the configuration as an AFL dictionary.
/// <c>fuzz/seeds.py</c> adds files made by PyTorch, torchvision and onnx; <c>fuzz/run.sh</c> adds the sample data's.
/// </summary>
public static class FuzzSeeds
{
    public static readonly string[] Families = ["resnet18", "mobilenet_v2", "efficientnet_b0"];

    /// <summary>The variant's widths with every channel space narrowed to at most 4 channels.</summary>
    public static INetworkWidths Small(string variant)
    {
        var widths = Architectures.Create(variant, 10);
        return widths.WithSpaceWidths(widths.DeclareChannels().Spaces.ToDictionary(s => s.Name, s => Math.Min(s.Width, 4)));
    }

    public static void Write(string root)
    {
        string Dir(string target) => Directory.CreateDirectory(Path.Combine(root, target)).FullName;
        foreach (var family in Families)
        {
            using var model = (IDisposable)Small(family).Build();
            var net = (IPrunableNetwork)model;
            ModelLoader.Save(net, Path.Combine(Dir("torch"), $"{family}.pth"));
            ModelLoader.Save(net, Path.Combine(Dir("safetensors"), $"{family}.safetensors"));
            ModelLoader.Save(net, Path.Combine(Dir("sparse"), $"{family}.hsp"));
            net.Module.eval();
            var onnx = OnnxExporter.ToBytes(net, new OnnxExportOptions { ImageSize = 32, ClassNames = Enumerable.Range(0, 10).Select(i => $"c{i}").ToList() });
            File.WriteAllBytes(Path.Combine(Dir("onnx-import"), $"{family}.onnx"), onnx);
            File.WriteAllBytes(Path.Combine(Dir("onnx-metadata"), $"{family}.onnx"), onnx);
        }
        // The pickle of a torch checkpoint, for the unpickler alone.
        using (var zip = System.IO.Compression.ZipFile.OpenRead(Path.Combine(root, "torch", "resnet18.pth")))
        using (var pkl = zip.Entries.First(e => e.FullName.EndsWith("data.pkl", StringComparison.Ordinal)).Open())
        using (var copy = File.Create(Path.Combine(Dir("pickle"), "resnet18.pkl")))
            pkl.CopyTo(copy);

        var graph = DependencyGraph.Build(Small("resnet18"));
        var groups = graph.Groups.ToList();
        GroupRatioFile.Of(groups.Take(4).ToDictionary(g => g.Id, g => 0.25 * (1 + g.Id % 3)), 1000, 900, 2000, 32)
            .Write(Path.Combine(Dir("group-ratios"), "ratios.json"));
        var rows = groups.SelectMany(g => new[] { 0.25, 0.5, 0.75 }.Select(r =>
            new SensitivityRow(g.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), $"layer{g.Id}.conv", r,
                (int)(r * g.Channels), 0.01 * g.Id, 0.9 - r / 10, 0.3 + r, r / 10))).ToList();
        File.WriteAllText(Path.Combine(Dir("sensitivity"), "sensitivity.csv"), SensitivityScan.ToCsv(rows, fineGrained: false));

        var config = new StudyConfig();
        File.WriteAllText(Path.Combine(Dir("study-config"), "defaults.json"), config.ToJson());

        using (var bitmap = new SKBitmap(5, 4, SKColorType.Rgba8888, SKAlphaType.Premul))
        {
            for (int y = 0; y < 4; y++)
                for (int x = 0; x < 5; x++)
                    bitmap.SetPixel(x, y, new SKColor((byte)(50 * x), (byte)(60 * y), 128, 255));
            foreach (var (format, ext) in new[] { (SKEncodedImageFormat.Png, "png"), (SKEncodedImageFormat.Jpeg, "jpg"), (SKEncodedImageFormat.Webp, "webp") })
            {
                using var data = bitmap.Encode(format, 90);
                if (data is not null) File.WriteAllBytes(Path.Combine(Dir("image"), $"small.{ext}"), data.ToArray());
            }
        }

        // JSON names (study config, group-ratio file) as an AFL dictionary.
        using var doc = JsonDocument.Parse(config.ToJson());
        var names = doc.RootElement.EnumerateObject().Select(p => p.Name)
            .Concat(["groupRatios", "targetMacs", "achievedMacs", "modelMacs", "imageSize"]).Distinct();
        File.WriteAllLines(Path.Combine(Dir("dict"), "json.dict"),
            names.Select(n => $"\"\\\"{n}\\\"\"").Concat(["\"{\"", "\"}\"", "\"[\"", "\"]\"", "\":\"", "\",\"", "\"null\"", "\"true\"", "\"false\"", "\"1e308\"", "\"-0\"", "\"9223372036854775808\""]));
    }
}
