namespace Harness.Pruning.FineGrained;

/// <summary>
/// What one pruning unit is. Element: one weight. Vector: one row of a k×k kernel, <c>W[o, i, r, :]</c>.
/// Kernel: a whole k×k kernel, <c>W[o, i, :, :]</c>. NM: in every group of M consecutive weights along the input
/// dimension (for each output channel and kernel position) keep the N largest magnitudes. A Linear weight is
/// treated as a 1×1 convolution, so its vectors and kernels are single weights. Structured: a whole slice along
/// <see cref="FineGrainedOptions.Dim"/> (0: an output channel, 1: an input channel), ranked by its Ln norm within its
/// layer, as <c>torch.nn.utils.prune.ln_structured</c> (zeroed, not removed: channel pruning removes).
/// </summary>
public enum Granularity { Element, Vector, Kernel, NM, Structured }
