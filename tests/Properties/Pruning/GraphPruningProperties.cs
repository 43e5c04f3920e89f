using FsCheck;
using FsCheck.Fluent;
using Google.Protobuf;
using Harness.Export;
using Harness.Model.Channels;
using Harness.Model.Families;
using Harness.Model.Import;
using Harness.Model.Layers;
using Harness.Model.Networks;
using Harness.Pruning.Channels;
using Harness.Tests.TestSupport;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Harness.Tests.Properties.Pruning;

/// <summary>
/// Channel pruning on the spaces derived from an imported graph (<see cref="GraphChannels"/>) removes exactly what a
/// group's channels contribute: for every imported test network (each declared family exported by Harness and
/// imported again, and small graphs with a hidden linear layer, a concatenation, a flattened spatial map and a grouped
/// conv), zeroing a random subset of a random derived group's channels (the same positions in each of a grouped conv's groups) where they are produced (conv and linear rows and biases, BatchNorm shifts and means) and then
/// pruning them leaves the logits unchanged.
/// </summary>
public class GraphPruningProperties
{
    public static IEnumerable<string> Networks => [.. Registry.OnePerFamily, "small_hidden", "small_concat", "small_flatten", "small_grouped"];

    private static readonly Dictionary<string, byte[]> Files = [];

    private static GraphNetwork Import(string name, int seed)
    {
        byte[] bytes;
        lock (Files)
        {
            if (!Files.TryGetValue(name, out bytes!))
            {
                if (name.StartsWith("small_", StringComparison.Ordinal)) bytes = OnnxModels.Small(name["small_".Length..], seed: 3).ToByteArray();
                else
                {
                    manual_seed(5);
                    using var net = Architectures.Create(name, 10).Build();
                    bytes = OnnxExporter.ToBytes(net, new OnnxExportOptions
                    {
                        FoldBatchNorm = false,
                        ClassNames = Enumerable.Range(0, 10).Select(i => $"c{i}").ToList(),
                    });
                }
                Files[name] = bytes;
            }
        }
        string path = Path.Combine(Path.GetTempPath(), $"graph-{Guid.NewGuid():N}.onnx");
        File.WriteAllBytes(path, bytes);
        try
        {
            var network = OnnxImporter.Import(new OnnxImportOptions(path));
            ExportModels.RandomiseBatchNorm(network, seed);
            return network;
        }
        finally { File.Delete(path); }
    }

    [Test]
    public void PruningChannelsThatContributeNothingLeavesTheLogitsUnchanged([ValueSource(nameof(Networks))] string name)
    {
        Prop.ForAll(Gen.Choose(0, 1000).ToArbitrary(), seed =>
        {
            using var scope = NewDisposeScope();
            using var model = Import(name, seed);
            var graph = DependencyGraph.Build(model);
            var rng = new System.Random(seed);
            var group = graph.Groups[rng.Next(graph.Groups.Count)];
            // Channels in equal groups (a grouped conv's) lose the same positions in each group.
            int groups = group.ChannelGroups, size = group.Channels / groups;
            var positions = Enumerable.Range(0, size).OrderBy(_ => rng.Next()).Take(Math.Max(1, size / 3)).ToArray();
            var chosen = Enumerable.Range(0, groups).SelectMany(k => positions.Select(p => k * size + p)).Order().ToArray();
            SilentChannels.Silence(model, group, chosen);
            model.eval();
            using var x = randn(2, 3, model.Spec.InputShape[1] == 224 ? 32 : model.Spec.InputShape[1], model.Spec.InputShape[2] == 224 ? 32 : model.Spec.InputShape[2]); // a flattened map fixes the size
            using var _ = no_grad();
            var before = model.call(x);
            var (pruned, report) = ChannelPruner.PruneChannels<IPrunableNetwork>(model, graph, new Dictionary<int, int[]> { [group.Id] = chosen });
            using (pruned)
            {
                pruned.Module.eval();
                var after = pruned.Module.call(x);
                double scale = Math.Max(1.0, before.abs().max().item<float>());
                return report.Groups[group.Id].After == group.Channels - chosen.Length
                       && TensorAssert.MaxAbsDiff(before, after) <= 1e-5 * scale;
            }
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(name.StartsWith("small_", StringComparison.Ordinal) ? 30 : 6));
    }
}
