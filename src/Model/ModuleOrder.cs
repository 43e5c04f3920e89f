using Harness.Model.Layers;
using static TorchSharp.torch;

namespace Harness.Model;

/// <summary>
/// Every descendant of a module with its dotted name in PyTorch's <c>named_modules()</c> order: depth first, a module
/// before its children, children in registration order. TorchSharp's <c>named_modules()</c> lists all of a
/// module's children before any grandchild, which puts ResNet's <c>fc</c> before <c>layer1.0.conv1</c>.
/// </summary>
public static class ModuleOrder
{
    /// <summary>The descendants of <paramref name="root"/> (not the root itself), depth first.</summary>
    public static IEnumerable<(string Name, nn.Module Module)> Named(nn.Module root)
    {
        foreach (var (name, child) in root.named_children())
        {
            yield return (name, child);
            foreach (var (below, module) in Named(child))
                yield return ($"{name}.{below}", module);
        }
    }

    /// <summary>Every conv and linear layer below <paramref name="root"/> (or the root itself, named "", when it is
    /// one) with its state-dict name, in PyTorch's module order: the one list of prunable layers.</summary>
    public static IEnumerable<(string Name, PrunableLayer Layer)> PrunableLayers(nn.Module root) =>
        root is PrunableLayer self
            ? [("", self)]
            : Named(root).Where(m => m.Module is PrunableLayer).Select(m => (m.Name, (PrunableLayer)m.Module));
}
