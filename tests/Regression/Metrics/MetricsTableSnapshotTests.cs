using Harness.Metrics;
using Harness.Model.Families;
using Harness.Storage.Checkpoints;
using Snapshooter.NUnit;

namespace Harness.Tests.Regression.Metrics;

/// <summary>The deterministic columns of the metrics table of seeded models (no timings).</summary>
public class MetricsTableSnapshotTests
{
    private static readonly MetricsOptions NoTiming = new(ImageSize: 224, Runs: 0);

    private static long SavedBytes(TorchSharp.torch.nn.Module m) => CheckpointSize.Measure(m, (x, p) => TorchCheckpoint.Save(p, x));

    private static object Deterministic(ModelMetrics m) => new
    {
        m.Name,
        m.Parameters,
        m.NonzeroParameters,
        m.Sparsity,
        m.SizeBytes,
        m.SparseSizeBytes,
        m.MacsThop,
        m.MacsTorchProfile,
        m.EffectiveMacsThop,
        m.EffectiveMacsTorchProfile,
        m.Memory!.ParameterBytes,
        m.Memory.ActivationPeakBytes,
        m.Memory.ActivationPeakAt,
        Markdown = MetricsTable.Build([m], deterministicOnly: true).ToMarkdown(),
    };

    [Test]
    public void EfficientNetB0WithTenClasses()
    {
        TorchSharp.torch.manual_seed(0);
        using var model = EfficientNet.Create(EfficientNetConfig.B0(10));
        var metrics = MetricsCollector.Collect("efficientnet_b0 (10 classes)", model, NoTiming, SavedBytes);
        Snapshot.Match(Deterministic(metrics));
    }

    [Test]
    public void TinyEfficientNetHalfPruned()
    {
        TorchSharp.torch.manual_seed(1);
        using var model = EfficientNet.Create(EfficientNetConfig.Scaled(0.25, 0.34, 10));
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
