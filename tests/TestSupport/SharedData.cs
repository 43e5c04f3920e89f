using NUnit.Framework;

namespace Harness.Tests.TestSupport;

/// <summary>Locates the read-only <c>../shared</c> folder that sits beside the repository.</summary>
public static class SharedData
{
    /// <summary>The repository root: the nearest folder above the test binaries that holds Harness.sln.</summary>
    public static string RepoRoot { get; } = FindRepoRoot();

    /// <summary>The shared folder beside the repository (may not exist).</summary>
    public static string SharedRoot => Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared"));

    /// <summary>Returns the path of <paramref name="relative"/> under ../shared, or marks the test skipped
    /// (Inconclusive is not used: Ignore shows up as skipped with the reason) when it is absent.</summary>
    public static string RequireShared(string relative)
    {
        string path = Path.Combine(SharedRoot, relative);
        if (!File.Exists(path) && !Directory.Exists(path))
            Assert.Ignore($"Skipped: shared data '{path}' is absent (expected ../shared beside the repository).");
        return path;
    }

    private static string FindRepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Harness.sln")))
            dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException(
            $"Harness.sln not found above {AppContext.BaseDirectory}");
    }
}
