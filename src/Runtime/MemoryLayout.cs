using TorchSharp;
using static TorchSharp.torch;

namespace Harness.Runtime;

/// <summary>How a network lays out its activations, as <c>model.to(memory_format=...)</c> and
/// <c>x.contiguous(memory_format=...)</c> choose in PyTorch.</summary>
public enum MemoryFormat
{
    /// <summary>Channels-last on the CPU (oneDNN's fast layout for convolutions, depthwise ones above all) where
    /// <see cref="MemoryLayout.ChannelsLastIsSound"/>, contiguous elsewhere.</summary>
    Auto,
    /// <summary>NHWC strides for every 4-D activation (<c>torch.channels_last</c>).</summary>
    ChannelsLast,
    /// <summary>NCHW strides (<c>torch.contiguous_format</c>), PyTorch's default.</summary>
    Contiguous,
}

/// <summary>
/// The memory format in which every network Harness builds runs its convolutions. A network's forward hands its
/// image batch to <see cref="Prepare"/>, which gives a 4-D input channels-last strides (the same values, the same
/// NCHW shape: <c>permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2)</c>, what
/// <c>contiguous(memory_format=torch.channels_last)</c> makes); convolutions, BatchNorm, pooling and elementwise ops
/// keep that layout, so the whole forward and backward run in it. Parameters, checkpoints and outputs are unaffected
/// (weights stay contiguous; the logits are 2-D). On the CPU it is oneDNN's fast path for training and inference (the
/// measured gains are in the README's Speed section, from <c>harness bench compare</c>). The values
/// computed differ from NCHW's only by float rounding (another kernel's summation order); a given format is
/// deterministic, so resumed runs still equal uninterrupted ones.
/// </summary>
public static class MemoryLayout
{
    private static volatile MemoryFormat _preferred = MemoryFormat.Auto;

    /// <summary>The process-wide choice (<c>--memory-format</c>); <see cref="MemoryFormat.Auto"/> unless set.</summary>
    public static MemoryFormat Preferred
    {
        get => _preferred;
        set => _preferred = Enum.IsDefined(value) ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "not a memory format");
    }

    /// <summary>Whether a tensor on <paramref name="device"/> runs channels-last under <see cref="Preferred"/>.</summary>
    public static bool IsChannelsLast(Device device) => Preferred switch
    {
        MemoryFormat.ChannelsLast => true,
        MemoryFormat.Contiguous => false,
        _ => device.type == DeviceType.CPU && ChannelsLastIsSound,
    };

    private static readonly Lazy<string?> Fault = new(ProbeChannelsLast, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Whether this CPU's libtorch computes channels-last convolutions right (<see cref="ChannelsLastFault"/>
    /// is null). Checked once per process; <see cref="MemoryFormat.Auto"/> runs contiguous where it does not.</summary>
    public static bool ChannelsLastIsSound => Fault.Value is null;

    /// <summary>What the once-per-process probe found wrong with channels-last convolutions on this CPU, or null.
    /// libtorch 2.10's oneDNN, on an AVX-512 CPU with VP2INTERSECT and BF16 (AMD Zen 5), gives 1×1 convolutions with
    /// 512 output channels in channels-last errors of order 1 (and crashes on some larger ones) while NCHW is exact;
    /// the probe runs the small shapes where that shows (ResNet's layer4 downsample among them) in both layouts
    /// against a float64 reference.</summary>
    public static string? ChannelsLastFault => Fault.Value;

    private static string? ProbeChannelsLast()
    {
        NativeSetup.Apply();
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var generator = new Generator(20261207);
        foreach (var (cin, cout, side, kernel, stride) in new[] { (256, 512, 10, 1, 2), (512, 512, 5, 1, 1), (64, 128, 8, 3, 2), (32, 32, 8, 3, 1) })
        {
            var x = randn([2, cin, side, side], generator: generator);
            var w = randn([cout, cin, kernel, kernel], generator: generator).mul_(1.0 / Math.Sqrt(cin * kernel * kernel));
            long pad = kernel / 2;
            var reference = nn.functional.conv2d(x.to(float64), w.to(float64), strides: [stride, stride], padding: [pad, pad]);
            var nhwc = x.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2);
            var y = nn.functional.conv2d(nhwc, w, strides: [stride, stride], padding: [pad, pad]);
            double error = (y.to(float64) - reference).abs().max().item<double>();
            if (!(error <= 1e-3))
                return $"a {kernel}×{kernel} convolution {cin}→{cout} channels at {side}×{side} px, stride {stride}, is off by {error:G3} in channels-last (libtorch's oneDNN on this CPU)";
        }
        return null;
    }

    /// <summary>The format <paramref name="name"/> names (<c>auto</c>, <c>channels-last</c>, <c>contiguous</c>), or null.</summary>
    public static MemoryFormat? Parse(string name) => name.Trim().ToLowerInvariant() switch
    {
        "auto" => MemoryFormat.Auto,
        "channels-last" or "channels_last" => MemoryFormat.ChannelsLast,
        "contiguous" => MemoryFormat.Contiguous,
        _ => null,
    };

    /// <summary>The format activations on <paramref name="device"/> run in now: <c>channels-last</c> or <c>contiguous</c>.</summary>
    public static string EffectiveName(Device device) => IsChannelsLast(device) ? "channels-last" : "contiguous";

    /// <summary>Whether a 4-D tensor has channels-last strides (the channel stride 1, then W, H, N outward).</summary>
    public static bool HasChannelsLastStrides(Tensor x)
    {
        if (x.dim() != 4) return false;
        var size = x.shape;
        var stride = x.stride();
        long expected = 1;
        foreach (int d in new[] { 1, 3, 2, 0 })
        {
            if (size[d] != 1 && stride[d] != expected) return false;
            expected *= size[d];
        }
        return true;
    }

    /// <summary><paramref name="input"/> in the preferred format: a channels-last copy of a 4-D NCHW batch where that
    /// format is chosen and the batch is not in it already, otherwise the input itself (the caller's tensor, not a
    /// new one: dispose only what differs from it).</summary>
    public static Tensor Prepare(Tensor input)
    {
        if (input.dim() != 4 || !IsChannelsLast(input.device) || HasChannelsLastStrides(input)) return input;
        using var nhwc = input.permute(0, 2, 3, 1);
        using var dense = nhwc.contiguous();
        return dense.permute(0, 3, 1, 2);
    }
}
