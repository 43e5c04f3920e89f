using Harness.Runtime;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Harness.Model.Layers;

/// <summary>torchvision's EfficientNet and MobileNetV2 classifier: "0" Dropout, "1" Linear (EfficientNet's
/// initialisation; MobileNetV2 re-initialises it).</summary>
public sealed class ClassifierHead : ExplicitModule
{
    public ClassifierHead(long inFeatures, long numClasses, double dropout) : base(nameof(ClassifierHead))
    {
        Dropout = Add("0", nn.Dropout(dropout, inplace: true));
        Linear = Add("1", new PrunableLinear(inFeatures, numClasses));
    }

    public Dropout Dropout { get; }
    public PrunableLinear Linear { get; private set; }

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        return Linear.call(Dropout.call(input)).MoveToOuterDisposeScope();
    }

    /// <summary>Swaps in a freshly initialised Linear with <paramref name="numClasses"/> outputs on the same device, in the same dtype.</summary>
    public void Replace(long numClasses)
    {
        var fresh = new PrunableLinear(Linear.InFeatures, numClasses);
        Placement.Of(Linear.Weight).Apply(fresh);
        register_module("1", null!);
        register_module("1", fresh);
        Linear.Dispose();
        Linear = fresh;
    }
}
