namespace Harness.Pruning.FineGrained;

/// <summary>How units are ranked: by L1 magnitude (smallest pruned first), at random (seeded), or by first-order
/// Taylor importance |w · ∂L/∂w| (Molchanov et al. 2019; the gradients of calibration batches must be on the weights,
/// see <c>Harness.Training.TaylorCalibration</c>).</summary>
public enum PruningMethod { L1, Random, Taylor }
