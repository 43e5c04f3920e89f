namespace Harness.Storage.Pickle;

/// <summary>A pickle asked for a global outside the allow-list: refused, nothing executed.</summary>
public sealed class PickleSecurityException(string message) : PickleException(message);
