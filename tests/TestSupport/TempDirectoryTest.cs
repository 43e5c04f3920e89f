using NUnit.Framework;

namespace Harness.Tests.TestSupport;

/// <summary>Base of tests that need a fresh temporary folder per test (<see cref="Dir"/>), removed afterwards.</summary>
public abstract class TempDirectoryTest
{
    protected string Dir { get; private set; } = "";

    [SetUp]
    public void CreateTempDirectory() => Dir = Directory.CreateTempSubdirectory($"harness-{GetType().Name}-").FullName;

    [TearDown]
    public void DeleteTempDirectory()
    {
        if (Directory.Exists(Dir)) Directory.Delete(Dir, recursive: true);
    }
}
