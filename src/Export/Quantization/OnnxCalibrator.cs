using Google.Protobuf;
using Harness.OnnxSchema;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Harness.Export.Quantization;

/// <summary>
/// Runs a float ONNX model in ONNX Runtime on calibration images with the named intermediate tensors added to its
/// outputs, and returns each tensor's range by the chosen method: one pass for MinMax, a second pass filling
/// histograms over the first pass's ranges for Percentile and Entropy. Images go through in chunks of
/// <see cref="ChunkImages"/> so that the intermediate tensors of a large network stay small.
/// </summary>
public static class OnnxCalibrator
{
    public const int ChunkImages = 8;

    /// <summary><paramref name="batches"/>: float32 [N, 3, H, W] arrays with their shapes, normalised as the model
    /// expects.</summary>
    public static Dictionary<string, (double Lo, double Hi)> Ranges(ModelProto model, IReadOnlyList<string> tensors,
        IReadOnlyList<(float[] Data, int[] Shape)> batches, QuantizationOptions options, int threads)
    {
        options.Validate();
        if (batches.Count == 0) throw new ArgumentException("calibration needs at least one batch of images");
        var augmented = model.Clone();
        var existing = new HashSet<string>(augmented.Graph.Output.Select(o => o.Name), StringComparer.Ordinal);
        foreach (string t in tensors.Where(t => !existing.Contains(t)))
            augmented.Graph.Output.Add(new ValueInfoProto
            {
                Name = t,
                Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float } },
            });
        using var sessionOptions = new SessionOptions
        {
            IntraOpNumThreads = threads,
            InterOpNumThreads = 1,
            // The tensors must be the graph's own: no fusions that would remove them.
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_BASIC,
        };
        using var session = new InferenceSession(augmented.ToByteArray(), sessionOptions);
        string inputName = model.Graph.Input[0].Name;
        var observers = tensors.Distinct().ToDictionary(t => t, _ => new ActivationObserver(), StringComparer.Ordinal);

        void Pass(Action<ActivationObserver, ReadOnlySpan<float>> observe)
        {
            foreach (var (data, shape) in Chunks(batches))
            {
                var feed = new[] { NamedOnnxValue.CreateFromTensor(inputName, new DenseTensor<float>(data, shape)) };
                using var results = session.Run(feed, observers.Keys.ToList());
                foreach (var r in results)
                {
                    var values = ((DenseTensor<float>)r.AsTensor<float>()).Buffer.Span;
                    observe(observers[r.Name], values);
                }
            }
        }
        Pass((o, v) => o.ObserveRange(v));
        if (options.Method != CalibrationMethod.MinMax)
            Pass((o, v) => o.ObserveHistogram(v, options.HistogramBins));
        return observers.ToDictionary(kv => kv.Key, kv => kv.Value.Range(options.Method, options.Percentile), StringComparer.Ordinal);
    }

    private static IEnumerable<(float[] Data, int[] Shape)> Chunks(IReadOnlyList<(float[] Data, int[] Shape)> batches)
    {
        foreach (var (data, shape) in batches)
        {
            if (shape.Length != 4) throw new ArgumentException("calibration batches must be [N, 3, H, W]");
            int per = shape[1] * shape[2] * shape[3];
            for (int start = 0; start < shape[0]; start += ChunkImages)
            {
                int n = Math.Min(ChunkImages, shape[0] - start);
                yield return (data.AsSpan(start * per, n * per).ToArray(), [n, shape[1], shape[2], shape[3]]);
            }
        }
    }
}
