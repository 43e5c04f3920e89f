using Harness.Model;
using Harness.Model.Families;
using Harness.Pruning.Channels;
using Harness.Tests.TestSupport;
using static TorchSharp.torch;

namespace Harness.Tests.Unit.Pruning;

public class ChannelReloadTests
{
    [Test]
    public void PrunedB0WhoseFirstBlockWidthsCoincideReloadsWithoutAnInventedResidual()
    {
        manual_seed(0);
        using var model = EfficientNet.Create(EfficientNetConfig.B0(10));
        var (pruned, report) = ChannelPruner.Prune(model, new ChannelPruningOptions { Ratio = 0.88, RoundTo = 8 });
        using (pruned)
        {
            Assert.That(pruned.Widths.Blocks.Any(b => b.Index == 0 && b.Stride == 1 && b.In == b.Out && !b.UseResidual),
                "this ratio makes a stage's first block map equal widths without a residual");
            string path = Path.Combine(Path.GetTempPath(), $"p088-{Guid.NewGuid():N}.pth");
            try
            {
                ModelLoader.Save(pruned, path);
                using var back = EfficientNets.LoadCheckpoint(path);
                Assert.That(back.Widths, Is.EqualTo(pruned.Widths), "widths come from the checkpoint's metadata");
                pruned.eval(); back.eval();
                using var x = randn(1, 3, 32, 32);
                using var _ = no_grad();
                TensorAssert.AreIdentical(pruned.call(x), back.call(x));
            }
            finally { File.Delete(path); }
        }
    }
}
