using Harness.Metrics;
using TorchSharp;
using static TorchSharp.torch;

namespace Harness.Tests.TestSupport;

/// <summary>
/// A torchvision-shaped EfficientNet built from plain TorchSharp modules (same module tree and layer shapes as
/// <c>torchvision.models.efficientnet_b0</c> with width/depth multipliers), used to test the metrics code
/// independently of Harness.Model. Stochastic depth is an identity (its eval behaviour); seeded construction.
/// </summary>
public sealed class ReferenceEfficientNet : nn.Module<Tensor, Tensor>
{
    private static readonly (int Expand, int Kernel, int Stride, int In, int Out, int Repeats)[] Stages =
    [
        (1, 3, 1, 32, 16, 1), (6, 3, 2, 16, 24, 2), (6, 5, 2, 24, 40, 2), (6, 3, 2, 40, 80, 3),
        (6, 5, 1, 80, 112, 3), (6, 5, 2, 112, 192, 4), (6, 3, 1, 192, 320, 1),
    ];

    private readonly nn.Module<Tensor, Tensor> features;
    private readonly nn.Module<Tensor, Tensor> avgpool;
    private readonly nn.Module<Tensor, Tensor> classifier;

    public ReferenceEfficientNet(int classes, double width = 1.0, double depth = 1.0, long seed = 0)
        : base(nameof(ReferenceEfficientNet))
    {
        manual_seed(seed);
        int Ch(int c) => MakeDivisible(c * width);
        var layers = new List<nn.Module<Tensor, Tensor>> { ConvNormAct(3, Ch(32), 3, 2, 1, true) };
        foreach (var s in Stages)
        {
            var blocks = new List<nn.Module<Tensor, Tensor>>();
            int repeats = (int)Math.Ceiling(s.Repeats * depth);
            for (int i = 0; i < repeats; i++)
            {
                int inC = i == 0 ? Ch(s.In) : Ch(s.Out);
                blocks.Add(new MBConv(inC, Ch(s.Out), s.Expand, s.Kernel, i == 0 ? s.Stride : 1));
            }
            layers.Add(nn.Sequential(blocks.ToArray()));
        }
        int last = Ch(320);
        layers.Add(ConvNormAct(last, 4 * last, 1, 1, 1, true));
        features = nn.Sequential(layers.ToArray());
        avgpool = nn.AdaptiveAvgPool2d(1);
        classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(4 * last, classes));
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var y = avgpool.call(features.call(x)).flatten(1);
        return classifier.call(y).MoveToOuterDisposeScope();
    }

    private static int MakeDivisible(double v, int divisor = 8)
    {
        int n = Math.Max(divisor, (int)(v + divisor / 2.0) / divisor * divisor);
        return n < 0.9 * v ? n + divisor : n;
    }

    internal static nn.Module<Tensor, Tensor> ConvNormAct(int inC, int outC, int k, int stride, int groups, bool act)
    {
        var modules = new List<nn.Module<Tensor, Tensor>>
        {
            nn.Conv2d(inC, outC, k, stride: stride, padding: (k - 1) / 2, groups: groups, bias: false),
            nn.BatchNorm2d(outC, eps: 1e-3),
        };
        if (act)
            modules.Add(nn.SiLU());
        return nn.Sequential(modules.ToArray());
    }

    private sealed class MBConv : nn.Module<Tensor, Tensor>
    {
        private readonly nn.Module<Tensor, Tensor> block;
        private readonly nn.Module<Tensor, Tensor> stochastic_depth;
        private readonly bool residual;

        public MBConv(int inC, int outC, int expand, int kernel, int stride) : base(nameof(MBConv))
        {
            int exp = inC * expand;
            var parts = new List<nn.Module<Tensor, Tensor>>();
            if (exp != inC)
                parts.Add(ConvNormAct(inC, exp, 1, 1, 1, true));
            parts.Add(ConvNormAct(exp, exp, kernel, stride, exp, true));
            parts.Add(new SqueezeExcitation(exp, Math.Max(1, inC / 4)));
            parts.Add(ConvNormAct(exp, outC, 1, 1, 1, false));
            block = nn.Sequential(parts.ToArray());
            stochastic_depth = nn.Identity();
            residual = stride == 1 && inC == outC;
            RegisterComponents();
        }

        public override Tensor forward(Tensor x)
        {
            using var scope = NewDisposeScope();
            var y = stochastic_depth.call(block.call(x));
            return (residual ? y + x : y).MoveToOuterDisposeScope();
        }
    }

    private sealed class SqueezeExcitation : nn.Module<Tensor, Tensor>, IScalesInput
    {
        private readonly nn.Module<Tensor, Tensor> avgpool = nn.AdaptiveAvgPool2d(1);
        private readonly nn.Module<Tensor, Tensor> fc1;
        private readonly nn.Module<Tensor, Tensor> fc2;
        private readonly nn.Module<Tensor, Tensor> activation = nn.SiLU();
        private readonly nn.Module<Tensor, Tensor> scale_activation = nn.Sigmoid();

        public SqueezeExcitation(int channels, int squeeze) : base(nameof(SqueezeExcitation))
        {
            fc1 = nn.Conv2d(channels, squeeze, 1);
            fc2 = nn.Conv2d(squeeze, channels, 1);
            RegisterComponents();
        }

        public override Tensor forward(Tensor x)
        {
            using var scope = NewDisposeScope();
            var s = scale_activation.call(fc2.call(activation.call(fc1.call(avgpool.call(x)))));
            return (s * x).MoveToOuterDisposeScope();
        }
    }
}
