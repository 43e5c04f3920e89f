namespace Harness.Storage.Checkpoints;

/// <summary>A file that is not a readable PyTorch checkpoint; the message names the file and the problem.</summary>
public sealed class CheckpointFormatException(string message, Exception? inner = null) : IOException(message, inner);
