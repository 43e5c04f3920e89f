namespace Harness.Metrics;

/// <summary>What one hooked forward pass yields: the MACs of every layer and the activation memory peak.</summary>
public sealed record ForwardProfile(MacReport Macs, ActivationMemory Activations);
