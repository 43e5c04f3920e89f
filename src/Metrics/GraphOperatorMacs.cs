using Harness.Model.Families;
using Harness.Runtime;
using static TorchSharp.torch;

namespace Harness.Metrics;

/// <summary>
/// The MACs of an imported network's operators that are not modules, as thop and torchprofile count them on the
/// PyTorch model the graph came from. A GlobalAveragePool is an <c>nn.AdaptiveAvgPool2d</c> module when its node
/// name has a module scope (torch.onnx names it <c>/avgpool/GlobalAveragePool</c>; thop counts it like any
/// adaptive pool) and a function call otherwise (<c>/GlobalAveragePool</c>, MobileNetV2's
/// <c>adaptive_avg_pool2d</c>: thop sees nothing); torchprofile counts both. A Mul whose operands have different
/// shapes is a squeeze-excitation's scale (torchprofile's <c>aten::mul</c> counts its outputs, thop nothing); a Mul
/// of equal shapes is an activation's (SiLU as x·σ(x)), free in both, like Add, pooling by max and the rest. An
/// AveragePool costs one MAC per output element in both (thop's <c>nn.AvgPool2d</c> rule; a function call is not
/// seen by thop), except a 1×1 window: that is an <c>nn.AdaptiveAvgPool2d</c> at its own output size, as torch.onnx
/// writes VGG's (7, 7) pool at 224, which thop counts (kernel area + 1) per output. (An adaptive pool that reduces
/// the map is written like an <c>nn.AvgPool2d</c> and counted as one.)
/// </summary>
public static class GraphOperatorMacs
{
    public static long Count(GraphNetwork graph, IReadOnlyList<long> inputShape, MacConvention convention)
    {
        var shapes = Shapes(graph, inputShape);
        long total = 0;
        foreach (var node in graph.Spec.Nodes)
        {
            if (!shapes.TryGetValue(node.Outputs[0], out var output)) continue;
            switch (node.Op)
            {
                case "GlobalAveragePool" when shapes.TryGetValue(node.Inputs[0], out var input):
                    bool module = node.Name.Trim('/').Contains('/');
                    total += convention == MacConvention.Thop && !module ? 0 : MacRules.AdaptiveAvgPool(convention, input, output);
                    break;
                case "AveragePool" when shapes.TryGetValue(node.Inputs[0], out var pooledInput):
                    {
                        bool scoped = node.Name.Trim('/').Contains('/');
                        // A 1×1 window is no pool anyone writes: it is an nn.AdaptiveAvgPool2d whose output size equals its
                        // input's, as torch.onnx writes VGG's (7, 7) pool at 224; thop counts it as such.
                        bool adaptive = (node.IntList("kernel") ?? []).All(k => k == 1);
                        total += convention == MacConvention.Thop
                            ? !scoped ? 0 : adaptive ? MacRules.AdaptiveAvgPool(convention, pooledInput, output) : MacRules.Elements(output)
                            : MacRules.Elements(output);
                        break;
                    }
                case "Mul" when shapes.TryGetValue(node.Inputs[0], out var a) && shapes.TryGetValue(node.Inputs[1], out var b) && !a.SequenceEqual(b):
                    total += MacRules.ExcitationScale(convention, output);
                    break;
            }
        }
        return total;
    }

    /// <summary>Every value's shape for an input of this shape (one forward pass, cached per network and shape).</summary>
    private static Dictionary<string, long[]> Shapes(GraphNetwork graph, IReadOnlyList<long> inputShape)
    {
        string key = string.Join("×", inputShape);
        lock (Cache)
        {
            if (Cache.TryGetValue(graph, out var entry) && entry.Key == key) return entry.Shapes;
        }
        var placement = Placement.Of(graph);
        using var x = placement.SeededInput([.. inputShape], 0);
        var shapes = graph.TraceShapes(x);
        lock (Cache) Cache.AddOrUpdate(graph, new Traced(key, shapes));
        return shapes;
    }

    private sealed record Traced(string Key, Dictionary<string, long[]> Shapes);

    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<GraphNetwork, Traced> Cache = [];
}
