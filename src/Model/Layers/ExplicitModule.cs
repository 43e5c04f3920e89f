using static TorchSharp.torch;

namespace Harness.Model.Layers;

/// <summary>
/// A module whose children are registered explicitly, by the names torchvision gives them ("0", "block",
/// "fc1"…). TorchSharp's reflection-based registration is switched off so that typed fields kept for
/// convenience never appear in the module tree or the state dict.
/// </summary>
public abstract class ExplicitModule : nn.Module<Tensor, Tensor>
{
    protected ExplicitModule(string name) : base(name) { }

    protected override void RegisterComponents() { }

    protected T Add<T>(string name, T module) where T : nn.Module
    {
        register_module(name, module);
        return module;
    }
}
