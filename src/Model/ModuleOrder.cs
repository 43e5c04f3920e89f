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
}
