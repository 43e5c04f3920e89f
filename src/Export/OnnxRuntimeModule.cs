using static TorchSharp.torch;

namespace Harness.Export;

/// <summary>An <see cref="OnnxRuntimeModel"/> as a TorchSharp module (logits of a float batch, computed by ONNX
/// Runtime on the CPU), so that evaluation, metrics and the study measure an exported or quantized model with the
/// same code as an eager one. It has no parameters; it owns the model.</summary>
public sealed class OnnxRuntimeModule(OnnxRuntimeModel model) : nn.Module<Tensor, Tensor>("onnxruntime")
{
    public OnnxRuntimeModel Model => model;

    public override Tensor forward(Tensor input)
    {
        var logits = model.Logits(input);
        return input.device.type == TorchSharp.DeviceType.CPU ? logits : logits.to(input.device);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) model.Dispose();
        base.Dispose(disposing);
    }
}
