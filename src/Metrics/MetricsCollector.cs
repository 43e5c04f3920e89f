using static TorchSharp.torch;

namespace Harness.Metrics;

/// <summary>Measures one model into a <see cref="ModelMetrics"/> record.</summary>
public static class MetricsCollector
{
    /// <param name="name">Model name for tables.</param>
    /// <param name="model">The model; its training flag is restored.</param>
    /// <param name="options">Input size, batch and timing options.</param>
    /// <param name="stateDictBytes">Bytes of the model's saved state-dict file (see <see cref="CheckpointSize"/>).</param>
    /// <param name="sparseBytes">Bytes of its sparse checkpoint, when a sparse writer is available.</param>
    /// <param name="test">Test loss and accuracy, when evaluated.</param>
    /// <param name="onnxLatency">Times the model in ONNX Runtime with the same options (Metrics does not depend on
    /// the exporter: the caller passes <c>Harness.Export.OnnxRuntimeLatency</c>); null: not measured.</param>
    /// <param name="eager">False: only the ONNX Runtime latency is timed (<c>metrics --runtime onnx</c>).</param>
    public static ModelMetrics Collect(string name, nn.Module<Tensor, Tensor> model, MetricsOptions options,
        Func<nn.Module, long> stateDictBytes, Func<nn.Module, long>? sparseBytes = null,
        (double Loss, double Accuracy)? test = null, Func<nn.Module<Tensor, Tensor>, MetricsOptions, LatencyStats>? onnxLatency = null,
        bool eager = true)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(stateDictBytes);
        var (parameters, nonzero) = ParameterCounter.Count(model);
        var profile = ForwardProfiler.Profile(model, options.ImageSize);
        var macs = profile.Macs;
        LatencyStats? latency = null;
        MemoryFigures? memory;
        if (options.Runs > 0)
        {
            if (eager) latency = LatencyMeter.Measure(model, options.ImageSize, options.BatchSize, options.Runs, options.Warmup);
            var activations = options.BatchSize == 1
                ? profile.Activations
                : ForwardProfiler.Profile(model, options.ImageSize, options.BatchSize).Activations;
            memory = MemoryMeter.Measure(model, activations, options.ImageSize, options.BatchSize);
        }
        else
        {
            memory = new MemoryFigures(MemoryMeter.ParameterBytes(model), profile.Activations.PeakBytes,
                profile.Activations.PeakAt, 0, "not measured (no timed runs)", null, null);
        }
        return new ModelMetrics
        {
            Name = name,
            Parameters = parameters,
            NonzeroParameters = nonzero,
            SizeBytes = stateDictBytes(model),
            SparseSizeBytes = sparseBytes?.Invoke(model),
            ImageSize = options.ImageSize,
            MacsThop = macs.Total(MacConvention.Thop),
            MacsTorchProfile = macs.Total(MacConvention.TorchProfile),
            EffectiveMacsThop = macs.Effective(MacConvention.Thop),
            EffectiveMacsTorchProfile = macs.Effective(MacConvention.TorchProfile),
            Latency = latency,
            Memory = memory,
            TestLoss = test?.Loss,
            TestAccuracy = test?.Accuracy,
            OnnxLatency = options.Runs > 0 ? onnxLatency?.Invoke(model, options) : null,
        };
    }
}
