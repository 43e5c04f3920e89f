using static TorchSharp.torch;

namespace Harness.Model.Layers;

/// <summary>torch.nn.Sequential's naming ("0", "1"…, each child's output the next one's input) with a child that
/// can be replaced in place (BatchNorm folding swaps a BatchNorm for an identity).</summary>
public sealed class ModuleSequence : ExplicitModule
{
    private readonly List<nn.Module<Tensor, Tensor>> _children;

    public ModuleSequence(IEnumerable<nn.Module<Tensor, Tensor>> children) : base(nameof(ModuleSequence))
    {
        _children = children.ToList();
        for (int i = 0; i < _children.Count; i++) Add(i.ToString(), _children[i]);
    }

    /// <summary>Registers <paramref name="module"/> as child <paramref name="index"/> in place of the one there.</summary>
    public void Replace(int index, nn.Module<Tensor, Tensor> module)
    {
        register_module(index.ToString(), null!);
        register_module(index.ToString(), module);
        _children[index] = module;
    }

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = input;
        foreach (var child in _children) x = child.call(x);
        return ReferenceEquals(x, input) ? x : x.MoveToOuterDisposeScope();
    }
}
