using Harness.Model.Layers;
using System.Text.Json.Serialization;
using static TorchSharp.torch;

namespace Harness.Model;

/// <summary>One row of the layer table: a leaf module with its state-dict name, type, weight shape (empty for a
/// module without a weight) and parameters.</summary>
public sealed record LayerRow(string Name, string Type, long[] WeightShape, long Parameters)
{
    /// <summary>The shape as the table prints it (<c>32×3×3×3</c>).</summary>
    [JsonIgnore]
    public string ShapeText => string.Join("×", WeightShape);
}

/// <summary>What <c>summary</c> prints: parameter and tensor counts, the layer table and the stages <c>--freeze</c>
/// numbers (each a list of module-name prefixes).</summary>
public sealed record ModelSummary(string Architecture, long Parameters, long TrainableParameters, int StateDictTensors, bool Masked,
    int NumClasses, IReadOnlyList<LayerRow> Layers, IReadOnlyList<IReadOnlyList<string>> Stages)
{
    public static ModelSummary Of(Harness.Model.Networks.IPrunableNetwork network)
    {
        var model = network.Module;
        var rows = new List<LayerRow>();
        foreach (var (name, module) in ModuleOrder.Named(model))
        {
            if (module.named_children().Any()) continue;
            var parameters = module.named_parameters(recurse: false).ToList();
            Tensor? weight = module is PrunableLayer p ? p.Weight : parameters.FirstOrDefault(x => x.name == "weight").parameter;
            long[] shape = weight is null ? [] : weight.shape;
            string type = module switch
            {
                PrunableConv2d c => c.Groups > 1 ? "Conv2d (depthwise)" : "Conv2d",
                PrunableLinear => "Linear",
                _ => module.GetType().Name,
            };
            rows.Add(new LayerRow(name, type, shape, parameters.Sum(x => x.parameter.numel())));
        }
        var all = model.parameters().ToList();
        return new ModelSummary(network.Architecture, all.Sum(p => p.numel()), all.Where(p => p.requires_grad).Sum(p => p.numel()),
            model.state_dict().Count, ModelLoader.IsMasked(network), network.NumClasses, rows, network.Stages);
    }
}
