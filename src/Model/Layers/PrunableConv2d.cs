using static TorchSharp.torch;

namespace Harness.Model.Layers;

/// <summary>Where a convolution's windows fall: kernel, strides and dilations per spatial axis (height, width) and
/// the zero padding on each side (top, left, bottom, right), as ONNX's Conv states them.</summary>
/// <param name="Kernel">Kernel height and width.</param>
/// <param name="Strides">Vertical and horizontal stride.</param>
/// <param name="Pads">Zero padding: top, left, bottom, right.</param>
/// <param name="Dilations">Vertical and horizontal dilation.</param>
/// <param name="AutoPad">ONNX's auto_pad: <c>NOTSET</c> (the pads as given), <c>SAME_UPPER</c> or <c>SAME_LOWER</c>
/// (pads computed from each input's size so that the output is ⌈input / stride⌉, the odd one at the end or the
/// beginning), <c>VALID</c> (no padding).</param>
public sealed record ConvGeometry(long[] Kernel, long[] Strides, long[] Pads, long[] Dilations, string AutoPad = "NOTSET")
{
    /// <summary>A square kernel with the same stride and padding on both axes (torchvision's convolutions).</summary>
    public static ConvGeometry Square(long kernel, long stride, long padding) =>
        new([kernel, kernel], [stride, stride], [padding, padding, padding, padding], [1, 1]);

    /// <summary>True when top = bottom and left = right: the padding <c>conv2d</c> applies itself.</summary>
    public bool SymmetricPads => Pads[0] == Pads[2] && Pads[1] == Pads[3];

    /// <summary>The pads (top, left, bottom, right) for an input of <paramref name="height"/> × <paramref name="width"/>.</summary>
    public long[] PadsFor(long height, long width)
    {
        if (AutoPad is "NOTSET") return Pads;
        if (AutoPad is "VALID") return [0, 0, 0, 0];
        long[] begin = new long[2], end = new long[2];
        long[] size = [height, width];
        for (int i = 0; i < 2; i++)
        {
            long output = (size[i] + Strides[i] - 1) / Strides[i];
            long total = Math.Max((output - 1) * Strides[i] + (Kernel[i] - 1) * Dilations[i] + 1 - size[i], 0);
            begin[i] = AutoPad == "SAME_UPPER" ? total / 2 : total - total / 2;
            end[i] = total - begin[i];
        }
        return [begin[0], begin[1], end[0], end[1]];
    }

    /// <summary>Throws an <see cref="ArgumentException"/> unless every number is in range.</summary>
    public void Validate()
    {
        if (Kernel.Length != 2 || Strides.Length != 2 || Pads.Length != 4 || Dilations.Length != 2)
            throw new ArgumentException($"conv geometry needs 2 kernel, 2 stride, 4 pad and 2 dilation numbers (got {Kernel.Length}, {Strides.Length}, {Pads.Length}, {Dilations.Length})");
        if (AutoPad is not ("NOTSET" or "VALID" or "SAME_UPPER" or "SAME_LOWER"))
            throw new ArgumentException($"conv geometry: auto_pad '{AutoPad}' is not NOTSET, VALID, SAME_UPPER or SAME_LOWER");
        if (Kernel.Any(k => k is < 1 or > 64) || Strides.Any(s => s is < 1 or > 64) || Dilations.Any(d => d is < 1 or > 64) || Pads.Any(p => p is < 0 or > 64))
            throw new ArgumentException($"conv geometry out of range: kernel [{string.Join(", ", Kernel)}], strides [{string.Join(", ", Strides)}], pads [{string.Join(", ", Pads)}], dilations [{string.Join(", ", Dilations)}]");
    }
}

/// <summary>A 2-D convolution (zero padding, possibly asymmetric) whose weight can be masked; state-dict names as
/// <c>torch.nn.Conv2d</c>.</summary>
public sealed class PrunableConv2d : PrunableLayer
{
    public PrunableConv2d(long inChannels, long outChannels, long kernelSize, long stride = 1, long padding = 0,
        long groups = 1, bool bias = true)
        : this(inChannels, outChannels, ConvGeometry.Square(kernelSize, stride, padding), groups, bias)
    {
    }

    public PrunableConv2d(long inChannels, long outChannels, ConvGeometry geometry, long groups = 1, bool bias = true)
        : base(nameof(PrunableConv2d), empty(outChannels, inChannels / Math.Max(groups, 1), geometry.Kernel[0], geometry.Kernel[1]),
            bias ? zeros(outChannels) : null)
    {
        geometry.Validate();
        if (groups < 1 || inChannels % groups != 0 || outChannels % groups != 0)
            throw new ArgumentException(
                $"channels in={inChannels} out={outChannels} must both be divisible by groups={groups}");
        InChannels = inChannels;
        OutChannels = outChannels;
        Geometry = geometry;
        Groups = groups;
        // torchvision's conv init (EfficientNet, ResNet, MobileNetV2): kaiming normal, fan_out, gain √2; zero bias.
        using (no_grad())
            nn.init.kaiming_normal_(Weight, mode: nn.init.FanInOut.FanOut);
    }

    public long InChannels { get; }
    public long OutChannels { get; }

    /// <summary>Kernel, strides, pads and dilations.</summary>
    public ConvGeometry Geometry { get; }

    /// <summary>The kernel's height (its size, for the square kernels of the declared families).</summary>
    public long KernelSize => Geometry.Kernel[0];

    /// <summary>The vertical stride (the stride, for the declared families).</summary>
    public long Stride => Geometry.Strides[0];

    /// <summary>The top padding (the padding, for the declared families).</summary>
    public long Padding => Geometry.Pads[0];

    public long Groups { get; }

    public override Tensor forward(Tensor input)
    {
        if (!IsMasked) return Convolve(input, Weight);
        using var w = EffectiveWeight();
        return Convolve(input, w);
    }

    private Tensor Convolve(Tensor input, Tensor weight)
    {
        var g = Geometry;
        var p = g.AutoPad == "NOTSET" ? g.Pads : g.PadsFor(input.shape[^2], input.shape[^1]);
        if (p[0] == p[2] && p[1] == p[3])
            return nn.functional.conv2d(input, weight, Bias, g.Strides, [p[0], p[1]], g.Dilations, Groups);
        // Asymmetric padding (CNTK's [3, 3, 2, 2]): pad explicitly (left, right, top, bottom), then convolve unpadded.
        using var padded = nn.functional.pad(input, [p[1], p[3], p[0], p[2]]);
        return nn.functional.conv2d(padded, weight, Bias, g.Strides, [0, 0], g.Dilations, Groups);
    }
}
