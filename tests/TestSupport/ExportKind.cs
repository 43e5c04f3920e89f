namespace Harness.Tests.TestSupport;

/// <summary>The checkpoint kinds Harness reads, each exported in the tests.</summary>
public enum ExportKind
{
    Dense,
    Masked,
    Permanent,
    ChannelPruned,
}
