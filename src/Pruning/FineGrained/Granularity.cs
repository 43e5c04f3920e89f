namespace Harness.Pruning.FineGrained;

/// <summary>
/// What one pruning unit is. Element: one weight. Vector: one row of a k×k kernel, <c>W[o, i, r, :]</c>.
/// Kernel: a whole k×k kernel, <c>W[o, i, :, :]</c>. NM: in every group of M consecutive weights along the input
/// dimension (for each output channel and kernel position) keep the N largest magnitudes. A Linear weight is
/// treated as a 1×1 convolution, so its vectors and kernels are single weights.
/// </summary>
public enum Granularity { Element, Vector, Kernel, NM }
