namespace Harness.Pruning.Channels;

/// <summary>Channel importance criteria: L1 / L2 magnitude (the study used L1), BatchNorm scale |γ|, random
/// (seeded), and first-order Taylor |w·∂L/∂w| (needs gradients from a calibration batch).</summary>
public enum ImportanceKind { L1, L2, BatchNormScale, Random, Taylor }
