using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Harness.Model.Layers;

/// <summary>The BatchNorm2d torchvision's networks use (eps 1e-5, momentum 0.1) with torchvision's
/// initialisation: weight 1, bias 0.</summary>
internal static class TorchvisionNorm
{
    public static BatchNorm2d Create(long channels)
    {
        var norm = nn.BatchNorm2d(channels, eps: 1e-5, momentum: 0.1);
        using (no_grad())
        {
            norm.weight!.fill_(1.0);
            norm.bias!.zero_();
        }
        return norm;
    }
}
