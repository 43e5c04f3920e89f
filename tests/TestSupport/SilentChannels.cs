using Harness.Model.Channels;
using Harness.Model.Layers;
using Harness.Pruning.Channels;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Harness.Tests.TestSupport;

/// <summary>Makes channels of a group contribute nothing, where they are produced: conv and linear output rows and
/// their biases, depthwise biases, BatchNorm shifts and means (at the member's offset) are zeroed, so the channels
/// carry zeros everywhere and pruning them must leave the network's outputs unchanged.</summary>
public static class SilentChannels
{
    public static void Silence(nn.Module model, ChannelGroup group, int[] channels)
    {
        var modules = model.named_modules().ToDictionary(m => m.name, m => m.module);
        using var _ = no_grad();
        foreach (var m in group.Members)
        {
            using var idx = tensor(channels.Select(c => (long)(c + m.Offset)).ToArray());
            switch (modules[m.Layer])
            {
                case PrunableLayer layer when m.Role == ChannelRole.Out:
                    layer.Weight.index_fill_(0, idx, 0.0);
                    layer.Bias?.index_fill_(0, idx, 0.0);
                    break;
                case PrunableConv2d dw when m.Role == ChannelRole.Depthwise:
                    dw.Bias?.index_fill_(0, idx, 0.0);
                    break;
                case BatchNorm2d bn when m.Role == ChannelRole.BatchNorm:
                    bn.bias!.index_fill_(0, idx, 0.0);
                    bn.running_mean!.index_fill_(0, idx, 0.0);
                    break;
            }
        }
    }
}
