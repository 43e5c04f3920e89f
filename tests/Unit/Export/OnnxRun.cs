using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using static TorchSharp.torch;
using Tensor = TorchSharp.torch.Tensor;

namespace Harness.Tests.Unit.Export;

/// <summary>Runs an exported model in ONNX Runtime (CPU, one thread) on a TorchSharp tensor.</summary>
public static class OnnxRun
{
    public static InferenceSession Session(byte[] model)
    {
        using var options = new SessionOptions { IntraOpNumThreads = 1, InterOpNumThreads = 1 };
        return new InferenceSession(model, options);
    }

    /// <summary>The <c>logits</c> of the session for <paramref name="input"/> as a [N, classes] tensor.</summary>
    public static Tensor Logits(InferenceSession session, Tensor input)
    {
        var data = input.contiguous().data<float>().ToArray();
        var dims = input.shape.Select(d => (int)d).ToArray();
        var feed = new DenseTensor<float>(data, dims);
        using var results = session.Run([NamedOnnxValue.CreateFromTensor("input", feed)]);
        var logits = results.Single(r => r.Name == "logits").AsTensor<float>();
        var shape = logits.Dimensions.ToArray().Select(d => (long)d).ToArray();
        return tensor(logits.ToArray(), shape);
    }
}
