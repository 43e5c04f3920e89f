using Harness.Runtime;
using static TorchSharp.torch;

namespace Harness.Metrics;

/// <summary>
/// Runs ONE real forward pass of a random N×3×H×W input in eval mode without gradients, with forward hooks on every
/// module, and derives from the shapes it saw the MACs of every layer under both conventions, the MACs that
/// skip zero weights, and the peak of live activation bytes. The model's training flag is restored afterwards.
/// </summary>
public static class ForwardProfiler
{
    /// <summary>Profiles <paramref name="model"/> on a batch of <paramref name="batchSize"/> images of
    /// <paramref name="imageSize"/>² pixels with <paramref name="channels"/> channels.</summary>
    public static ForwardProfile Profile(nn.Module<Tensor, Tensor> model, int imageSize = 224, int batchSize = 1,
        int channels = 3)
    {
        if (imageSize < 1)
            throw new ArgumentOutOfRangeException(nameof(imageSize), imageSize, "image size must be at least 1 pixel");
        if (batchSize < 1)
            throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "batch size must be at least 1");
        if (channels < 1)
            throw new ArgumentOutOfRangeException(nameof(channels), channels, "channels must be at least 1");
        return Profile(model, [batchSize, channels, imageSize, imageSize]);
    }

    /// <summary>Profiles <paramref name="model"/> on one random input of <paramref name="inputShape"/>.</summary>
    public static ForwardProfile Profile(nn.Module<Tensor, Tensor> model, long[] inputShape)
    {
        ArgumentNullException.ThrowIfNull(model);
        bool wasTraining = model.training;
        var placement = Placement.Of(model);
        model.eval();
        try
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            // Laid out as the network runs it (as the batch loader delivers it), so no layout copy enters the trace.
            var input = MemoryLayout.Prepare(placement.SeededInput(inputShape, 0));
            var trace = ForwardTrace.Record(model, input);
            return new ForwardProfile(Build(inputShape, trace), ActivationLiveness.Analyse(trace));
        }
        finally
        {
            model.train(wasTraining);
        }
    }

    private static MacReport Build(long[] inputShape, ForwardTrace trace)
    {
        var layers = new List<LayerMacs>();
        foreach (var call in trace.Calls)
        {
            if (call.Descriptor is not { } d)
                continue;
            string type = call.Module.GetType().Name;
            var input = call.InputShape;
            var output = call.OutputShape;
            layers.Add(d.Kind switch
            {
                LayerKind.Convolution => Weighted(call, type, MacRules.Convolution(output, d.WeightShape!),
                    MacRules.EffectiveConvolution(output, d.WeightShape!, d.NonzeroWeights)),
                LayerKind.Linear => Weighted(call, type, MacRules.Linear(output, d.WeightShape![1]),
                    MacRules.EffectiveLinear(output, d.WeightShape![0], d.NonzeroWeights)),
                LayerKind.BatchNorm => Plain(call, type, MacRules.BatchNorm(MacConvention.Thop, input, d.Affine),
                    MacRules.BatchNorm(MacConvention.TorchProfile, input, d.Affine)),
                LayerKind.AdaptiveAvgPool => Plain(call, type,
                    MacRules.AdaptiveAvgPool(MacConvention.Thop, input, output),
                    MacRules.AdaptiveAvgPool(MacConvention.TorchProfile, input, output)),
                LayerKind.ExcitationScale => Plain(call, type, MacRules.ExcitationScale(MacConvention.Thop, output),
                    MacRules.ExcitationScale(MacConvention.TorchProfile, output)),
                LayerKind.FunctionalAveragePool => Plain(call, type,
                    MacRules.FunctionalAveragePool(MacConvention.Thop, output[0], d.PooledChannels),
                    MacRules.FunctionalAveragePool(MacConvention.TorchProfile, output[0], d.PooledChannels)),
                LayerKind.GraphOperators => Plain(call, type, GraphOperatorMacs.Count(d.Graph!, input, MacConvention.Thop),
                    GraphOperatorMacs.Count(d.Graph!, input, MacConvention.TorchProfile)),
                LayerKind.Free => Plain(call, type, 0, 0),
                _ => throw new InvalidOperationException($"unhandled layer kind {d.Kind}"),
            });

            LayerMacs Weighted(ForwardTrace.Call c, string t, long dense, long effective) =>
                new(c.Name, t, d.Kind, c.InputShape, c.OutputShape, dense, dense,
                    d.WeightElements == 0 ? 0 : (double)d.NonzeroWeights / d.WeightElements, effective);
            LayerMacs Plain(ForwardTrace.Call c, string t, long thop, long torchProfile) =>
                new(c.Name, t, d.Kind, c.InputShape, c.OutputShape, thop, torchProfile, null, null);
        }
        return new MacReport(inputShape, layers);
    }
}
