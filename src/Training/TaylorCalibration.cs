using Harness.Data;
using static TorchSharp.torch;

namespace Harness.Training;

/// <summary>
/// The gradients first-order Taylor importance needs (Molchanov et al., "Importance Estimation for Neural Network
/// Pruning", CVPR 2019: a weight's importance is |w · ∂L/∂w|): the cross-entropy loss of each of N calibration batches
/// is back-propagated without zeroing in between, so every parameter's <c>grad</c> holds the sum over the batches, as
/// in Torch-Pruning's examples before <c>TaylorImportance</c>. The model runs in eval mode (BatchNorm uses its running
/// statistics and is not updated; dropout is off), so calibrating leaves the weights and statistics unchanged and is
/// a function of the batches alone.
/// </summary>
public static class TaylorCalibration
{
    /// <summary>Accumulates the gradients over <paramref name="batches"/>; returns how many batches were used.</summary>
    public static int Accumulate(nn.Module<Tensor, Tensor> model, IEnumerable<(Tensor Images, Tensor Labels)> batches)
    {
        bool wasTraining = model.training;
        model.eval();
        try
        {
            foreach (var p in model.parameters()) p.requires_grad = true;
            model.zero_grad();
            int n = 0;
            foreach (var (images, labels) in batches)
            {
                using var scope = NewDisposeScope();
                nn.functional.cross_entropy(model.call(images), labels).backward();
                n++;
            }
            if (n == 0) throw new ArgumentException("Taylor importance needs at least one calibration batch (the data set is empty)");
            return n;
        }
        finally
        {
            model.train(wasTraining);
        }
    }

    /// <summary>The first <paramref name="batches"/> batches of <paramref name="loader"/> (its order for epoch 0).</summary>
    public static int Accumulate(nn.Module<Tensor, Tensor> model, BatchLoader loader, int batches)
    {
        if (batches < 1) throw new ArgumentException($"--calibration-batches must be at least 1 (got {batches})");
        return Accumulate(model, Batches(loader, batches));
    }

    private static IEnumerable<(Tensor, Tensor)> Batches(BatchLoader loader, int count)
    {
        int i = 0;
        foreach (var batch in loader.Epoch(0))
        {
            using (batch) yield return (batch.Images, batch.Labels);
            if (++i >= count) yield break;
        }
    }
}
