using Harness.Model;
using FsCheck;
using FsCheck.Fluent;
using Harness.Metrics;
using Harness.Tests.TestSupport;
using TorchSharp;
using static TorchSharp.torch;
using Harness.Model.Families;

namespace Harness.Tests.Properties.Metrics;

/// <summary>Laws of the MAC counter over randomly drawn small networks.</summary>
public class MacProperties
{
    private static readonly Config Quick = Config.QuickThrowOnFailure.WithMaxTest(15);

    private sealed record NetSpec(int Channels, int Width, int Kernel, int Groups, int Stride, int Side, int Classes);

    private static readonly Gen<NetSpec> Specs =
        from groups in Gen.Elements(1, 2, 4)
        from channels in Gen.Choose(1, 3).Select(c => c * groups)
        from width in Gen.Choose(1, 4).Select(w => w * groups)
        from kernel in Gen.Elements(1, 3, 5)
        from stride in Gen.Elements(1, 2)
        from side in Gen.Choose(6, 20)
        from classes in Gen.Choose(1, 6)
        select new NetSpec(channels, width, kernel, groups, stride, side, classes);

    private static nn.Module<Tensor, Tensor> Build(NetSpec s) => nn.Sequential(
        nn.Conv2d(s.Channels, s.Width, s.Kernel, stride: s.Stride, padding: s.Kernel / 2, groups: s.Groups),
        nn.BatchNorm2d(s.Width), nn.SiLU(),
        nn.Conv2d(s.Width, s.Width, 3, padding: 1, groups: s.Width, bias: false),
        nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Dropout(0.1), nn.Linear(4 * s.Width, s.Classes));

    [Test]
    public void ModelMacsEqualTheSumOfEachLayerCountedAlone()
    {
        Prop.ForAll(Specs.ToArbitrary(), spec =>
        {
            using var model = Build(spec);
            var report = ForwardProfiler.Profile(model, [2, spec.Channels, spec.Side, spec.Side]).Macs;
            var children = model.named_children().ToDictionary(c => c.name, c => (nn.Module<Tensor, Tensor>)c.module);
            foreach (var convention in new[] { MacConvention.Thop, MacConvention.TorchProfile })
            {
                long alone = report.Layers.Sum(l =>
                    ForwardProfiler.Profile(children[l.Name], l.InputShape.ToArray()).Macs.Total(convention));
                if (alone != report.Total(convention))
                    return false;
            }
            return report.Layers.Count == 8;
        }).Check(Quick);
    }

    [Test]
    public void ConvolutionMacsScaleWithTheSquareOfTheInputSide()
    {
        using var model = EfficientNet.Create(EfficientNetConfig.Scaled(0.25, 0.34, 10));
        // Squeeze-excitation's fc1/fc2 act on the pooled 1×1 map at every input size, so they are excluded.
        long ConvMacs(int side) => ForwardProfiler.Profile(model, side).Macs.Layers
            .Where(l => l.Kind == LayerKind.Convolution && !l.Name.Contains(".fc", StringComparison.Ordinal))
            .Sum(l => l.MacsThop);
        long base32 = ConvMacs(32);
        Prop.ForAll(Gen.Choose(2, 4).ToArbitrary(), k => ConvMacs(32 * k) == (long)k * k * base32)
            .Check(Config.QuickThrowOnFailure.WithMaxTest(4));
    }

    [Test]
    public void EffectiveConvolutionMacsAreZeroWhenOnlyBiasesAreNonzero()
    {
        Prop.ForAll(Specs.ToArbitrary(), spec =>
        {
            using var model = Build(spec);
            using (no_grad())
                foreach (var (name, p) in model.named_parameters())
                    if (name.EndsWith("weight", StringComparison.Ordinal) && p.dim() == 4)
                        p.zero_();
            var report = ForwardProfiler.Profile(model, [1, spec.Channels, spec.Side, spec.Side]).Macs;
            var convs = report.Layers.Where(l => l.Kind == LayerKind.Convolution).ToList();
            return convs.Count == 2 && convs.All(l => l.EffectiveWeightMacs == 0 && l.MacsThop > 0)
                && report.Effective(MacConvention.Thop) == report.Total(MacConvention.Thop) - convs.Sum(l => l.MacsThop);
        }).Check(Quick);
    }
}
