using Harness.Model.Networks;
using Harness.Storage.Files;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using System.Text.Json;
using static TorchSharp.torch;
using Tensor = TorchSharp.torch.Tensor;

namespace Harness.Export;

/// <summary>
/// A model run by ONNX Runtime (CPU): an exported <c>.onnx</c> file, or a Harness checkpoint exported in memory
/// (BatchNorm folded, as <c>export onnx</c> writes it). Reads the class names and image size the export recorded.
/// </summary>
public sealed class OnnxRuntimeModel : IDisposable
{
    private readonly InferenceSession _session;
    private readonly string _inputName;
    private readonly int[] _inputDims;

    private OnnxRuntimeModel(InferenceSession session, string source)
    {
        _session = session;
        var meta = session.ModelMetadata.CustomMetadataMap;
        if (meta.TryGetValue(OnnxMetadataKeys.ClassNames, out var names))
        {
            try { ClassNames = HarnessJson.Deserialize<List<string>>(names); }
            catch (JsonException ex) { throw new InvalidDataException($"{source}: metadata '{OnnxMetadataKeys.ClassNames}' is not a JSON list ({ex.Message})", ex); }
        }
        if (meta.TryGetValue(OnnxMetadataKeys.ImageSize, out var size) && int.TryParse(size, out int s)) ImageSize = s;
        if (meta.TryGetValue(OnnxMetadataKeys.Quantization, out var scheme)) Quantization = scheme;
        if (meta.TryGetValue(OnnxMetadataKeys.Calibration, out var calibration)) Calibration = calibration;
        // The interface is checked before anything is run: one float image input [N, 3, H, W] and float logits first.
        if (session.InputMetadata.Count != 1)
            throw new InvalidDataException($"{source}: the model has {session.InputMetadata.Count} inputs; an image classifier with one input [N, 3, H, W] is expected");
        var (inputName, input) = session.InputMetadata.Single();
        if (input.OnnxValueType != OnnxValueType.ONNX_TYPE_TENSOR || input.ElementDataType != TensorElementType.Float
            || input.Dimensions.Length != 4 || input.Dimensions[1] is not (3 or -1))
            throw new InvalidDataException($"{source}: input '{inputName}' is not a float image batch [N, 3, H, W]");
        _inputName = inputName;
        _inputDims = input.Dimensions;
        if (session.OutputMetadata.Count == 0
            || session.OutputMetadata.Values.First() is not { OnnxValueType: OnnxValueType.ONNX_TYPE_TENSOR, ElementDataType: TensorElementType.Float } logits)
            throw new InvalidDataException($"{source}: the model's first output is not a float tensor of logits");
        var output = logits.Dimensions;
        NumClasses = output.Length == 2 && output[1] > 0 ? output[1] : ClassNames?.Count ?? 0;
    }

    public IReadOnlyList<string>? ClassNames { get; }
    public int? ImageSize { get; }
    public int NumClasses { get; }

    /// <summary>The int8 scheme a quantized export records (<see cref="OnnxMetadataKeys.Quantization"/>); null for a float model.</summary>
    public string? Quantization { get; }

    /// <summary>The calibration a quantized export records (JSON); null for a float model.</summary>
    public string? Calibration { get; }

    /// <summary>An exported <c>.onnx</c> file; a file ONNX Runtime refuses is an <see cref="InvalidDataException"/>
    /// naming it.</summary>
    public static OnnxRuntimeModel Open(string path, int threads)
    {
        using var options = Options(threads);
        if (!File.Exists(path)) throw new FileNotFoundException($"--weights '{path}': no such file", path);
        InferenceSession session;
        try { session = new InferenceSession(path, options); }
        catch (OnnxRuntimeException ex) { throw new InvalidDataException($"--weights '{path}': not an ONNX model ONNX Runtime accepts ({ex.Message})", ex); }
        return Wrap(session, $"--weights '{path}'");
    }

    /// <summary>A network exported in memory as <c>export onnx</c> writes it (BatchNorm folded; the model is put in
    /// eval mode), with these class names recorded.</summary>
    public static OnnxRuntimeModel Export(IPrunableNetwork model, IReadOnlyList<string> classNames, int threads, string source)
    {
        model.Module.eval();
        return FromBytes(OnnxExporter.ToBytes(model, new OnnxExportOptions { ClassNames = classNames }), threads, source);
    }

    /// <summary>A model held in memory (e.g. a quantized export), named <paramref name="source"/> in errors.</summary>
    public static OnnxRuntimeModel FromBytes(byte[] onnxModel, int threads, string source)
    {
        using var options = Options(threads);
        InferenceSession session;
        try { session = new InferenceSession(onnxModel, options); }
        catch (OnnxRuntimeException ex) { throw new InvalidDataException($"{source}: not an ONNX model ONNX Runtime accepts ({ex.Message})", ex); }
        return Wrap(session, source);
    }

    /// <summary>The model around an open session; a session whose interface is refused is closed.</summary>
    private static OnnxRuntimeModel Wrap(InferenceSession session, string source)
    {
        try
        {
            return new OnnxRuntimeModel(session, source);
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    private static SessionOptions Options(int threads) => new()
    {
        IntraOpNumThreads = threads,
        InterOpNumThreads = 1,
        GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
    };

    /// <summary>Logits of a float32 batch [N, 3, H, W] (any device; computed on the CPU).</summary>
    public Tensor Logits(Tensor input)
    {
        using var cpu = input.to(float32).cpu().contiguous();
        var shape = cpu.shape.Select(d => (int)d).ToArray();
        // A model exported with a fixed image size takes no other; one with a fixed batch is run in batches of it.
        if (shape.Length != 4 || (_inputDims[2] > 0 && _inputDims[2] != shape[2]) || (_inputDims[3] > 0 && _inputDims[3] != shape[3]))
            throw new ArgumentException($"the ONNX model takes images of {Size(_inputDims[2])}×{Size(_inputDims[3])} pixels, given [{string.Join(", ", shape)}]: set --image-size to its size");
        int batch = _inputDims[0] > 0 ? _inputDims[0] : shape[0];
        var parts = new List<Tensor>();
        try
        {
            for (int start = 0; start < shape[0]; start += batch)
            {
                int n = Math.Min(batch, shape[0] - start);
                using var chunk = cpu.narrow(0, start, n);
                using var padded = n == batch ? chunk.alias() : nn.functional.pad(chunk, [0, 0, 0, 0, 0, 0, 0, batch - n]);
                var data = padded.data<float>().ToArray();
                var feed = new[] { NamedOnnxValue.CreateFromTensor(_inputName, new DenseTensor<float>(data, [batch, shape[1], shape[2], shape[3]])) };
                using var results = _session.Run(feed);
                var logits = results.First().AsTensor<float>();
                var all = tensor(logits.ToArray(), logits.Dimensions.ToArray().Select(d => (long)d).ToArray());
                if (n == batch) parts.Add(all);
                else
                    using (all) parts.Add(all.narrow(0, 0, n).clone()); // the padding's rows dropped
            }
        }
        catch
        {
            foreach (var p in parts) p.Dispose();
            throw;
        }
        if (parts.Count == 1) return parts[0]; // the usual case: one run, its logits handed out as they are
        try
        {
            return cat(parts, 0);
        }
        finally
        {
            foreach (var p in parts) p.Dispose();
        }
    }

    private static string Size(int d) => d > 0 ? d.ToString(System.Globalization.CultureInfo.InvariantCulture) : "any";

    public void Dispose() => _session.Dispose();
}
