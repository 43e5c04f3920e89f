namespace Harness.Cli;

/// <summary>The command that runs this Harness from a job script: the <c>harness</c> program when this process is it
/// (or it sits beside the assembly), else <c>dotnet harness.dll</c>.</summary>
public static class HarnessCommand
{
    public static IReadOnlyList<string> Current()
    {
        string? process = Environment.ProcessPath;
        if (process is not null && Path.GetFileNameWithoutExtension(process) == "harness") return [process];
        string dll = typeof(HarnessCommand).Assembly.Location;
        string apphost = Path.Combine(Path.GetDirectoryName(dll)!, OperatingSystem.IsWindows() ? "harness.exe" : "harness");
        if (File.Exists(apphost)) return [apphost];
        return [process is not null && Path.GetFileNameWithoutExtension(process) == "dotnet" ? process : "dotnet", dll];
    }
}
