using Harness.Metrics;
using Harness.Tests.TestSupport;
using Snapshooter.NUnit;

namespace Harness.Tests.Regression.Metrics;

/// <summary>The deterministic columns of the metrics table of seeded models (no timings).</summary>
public class MetricsTableSnapshotTests
{
    private static readonly MetricsOptions NoTiming = new(ImageSize: 224, Runs: 0);

    // Until Harness.Model's PyTorch writer is merged the size is that of TorchSharp's own format.
    private static long SavedBytes(TorchSharp.torch.nn.Module m) => CheckpointSize.Measure(m, (x, p) => x.save(p));

    private static object Deterministic(ModelMetrics m) => new
    {
        m.Name, m.Parameters, m.NonzeroParameters, m.Sparsity, m.SizeBytes, m.SparseSizeBytes, m.MacsThop,
        m.MacsTorchProfile, m.EffectiveMacsThop, m.EffectiveMacsTorchProfile, m.Memory!.ParameterBytes,
        m.Memory.ActivationPeakBytes, m.Memory.ActivationPeakAt,
        Markdown = MetricsTable.Build([m], deterministicOnly: true).ToMarkdown(),
    };

    [Test]
    public void EfficientNetB0WithTenClasses()
    {
        using var model = new ReferenceEfficientNet(10, seed: 0);
        var metrics = MetricsCollector.Collect("efficientnet_b0 (10 classes)", model, NoTiming, SavedBytes);
        Snapshot.Match(Deterministic(metrics));
    }

    [Test]
    public void TinyEfficientNetHalfPruned()
    {
        using var model = new ReferenceEfficientNet(10, width: 0.25, depth: 0.34, seed: 1);
        using var generator = new TorchSharp.torch.Generator(2);
        using (TorchSharp.torch.no_grad())
            foreach (var (_, p) in model.named_parameters())
                if (p.dim() == 4)
                    p.masked_fill_(TorchSharp.torch.rand(p.shape, generator: generator) < 0.5, 0);
        var metrics = MetricsCollector.Collect("tiny (w 0.25, d 0.34) 50% random zeros", model, NoTiming with { ImageSize = 64 },
            SavedBytes);
        Snapshot.Match(Deterministic(metrics));
    }
}
