using Harness.Model.Layers;
using static TorchSharp.torch;

namespace Harness.Model.Families;

/// <summary>A module that holds children or buffers for a <see cref="GraphNetwork"/>: the containers of dotted
/// state-dict names (<c>layer1</c>, <c>layer1.0</c>) and the <c>constants</c> module. Never called.</summary>
internal interface IScope
{
    void AddChild(string name, nn.Module module);

    void ReplaceChild(string name, nn.Module module);
}

/// <inheritdoc cref="IScope"/>
public sealed class GraphScope() : ExplicitModule(nameof(GraphScope)), IScope
{
    public void AddChild(string name, nn.Module module) => Add(name, module);

    public void ReplaceChild(string name, nn.Module module)
    {
        register_module(name, null!);
        register_module(name, module);
    }

    /// <summary>True when it holds no modules (the <c>constants</c> module: buffers only).</summary>
    public bool IsLeaf => !children().Any();

    public void AddBuffer(string name, Tensor value) => register_buffer(name, value.DetachFromDisposeScope());

    /// <summary>The buffer's current tensor (after any move to another device).</summary>
    public Tensor Buffer(string name) => named_buffers(false).First(b => b.name == name).buffer;

    public override Tensor forward(Tensor input) =>
        throw new InvalidOperationException("a graph network's scope module is a container; the network runs the graph");
}
