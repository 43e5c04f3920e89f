namespace Harness.Storage.Pickle;

/// <summary>A pickle stream that is malformed, truncated or uses what the restricted unpickler does not
/// support. The message names the source (file or archive entry).</summary>
public class PickleException(string message) : IOException(message);
