using FsCheck;
using FsCheck.Fluent;
using Harness.Metrics;
using Harness.Model.Families;
using static TorchSharp.torch;

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

    /// <summary>Every layer of a drawn network costs what thop's and torchprofile's per-layer rules give when written
    /// out from the drawn numbers alone (output sides by the convolution arithmetic, not by the counter), and the
    /// model's total is their sum: conv N·C_out·H·W·(C_in/g)·k², BatchNorm (affine) thop 4 and torchprofile 1 per
    /// element, adaptive pool to 2×2 thop ⌊((H/2)·(W/2) + 1) per output element⌋ and torchprofile 1 per output element, Linear N·out·in,
    /// the activation, flatten and dropout nothing.</summary>
    [Test]
    public void EachLayerCostsWhatThePeersRulesGiveFromTheDrawnNumbers()
    {
        Prop.ForAll(Specs.ToArbitrary(), spec =>
        {
            using var model = Build(spec);
            const long n = 2;
            var report = ForwardProfiler.Profile(model, [n, spec.Channels, spec.Side, spec.Side]).Macs;
            long side = (spec.Side + 2 * (spec.Kernel / 2) - spec.Kernel) / spec.Stride + 1;
            long map = n * spec.Width * side * side;
            double poolKernel = side / 2.0 * (side / 2.0); // thop: the product of input/output sizes, truncated at the end
            var expected = new Dictionary<string, (long Thop, long TorchProfile)>
            {
                ["0"] = (map * (spec.Channels / spec.Groups) * spec.Kernel * spec.Kernel, map * (spec.Channels / spec.Groups) * spec.Kernel * spec.Kernel),
                ["1"] = (4 * map, map),
                ["2"] = (0, 0),
                ["3"] = (map * 9, map * 9),
                ["4"] = ((long)Math.Floor((poolKernel + 1) * n * spec.Width * 4), n * spec.Width * 4),
                ["5"] = (0, 0),
                ["6"] = (0, 0),
                ["7"] = (n * spec.Classes * 4 * spec.Width, n * spec.Classes * 4 * spec.Width),
            };
            var byName = report.Layers.ToDictionary(l => l.Name);
            foreach (var (name, (thop, torchProfile)) in expected)
            {
                long gotThop = byName.TryGetValue(name, out var l) ? l.Macs(MacConvention.Thop) : 0;
                long gotProfile = l?.Macs(MacConvention.TorchProfile) ?? 0;
                if (gotThop != thop || gotProfile != torchProfile)
                    throw new Exception($"{spec}: layer {name} counts thop {gotThop} / torchprofile {gotProfile}, the rules give {thop} / {torchProfile}");
            }
            return report.Total(MacConvention.Thop) == expected.Values.Sum(e => e.Thop)
                   && report.Total(MacConvention.TorchProfile) == expected.Values.Sum(e => e.TorchProfile);
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
