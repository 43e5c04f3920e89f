using Harness.Tests.TestSupport;
using System.Diagnostics;
using System.Text.Json;

namespace Harness.Tests.Parity;

/// <summary>
/// Debian's PyTorch (<c>python3-torch</c>, <c>python3-torchvision</c>, <c>python3-onnx</c>) driven through
/// <c>/usr/bin/python3</c> (or <c>HARNESS_PYTHON</c>): runs one script of <c>tests/Parity/python/</c> on an exchange
/// folder. Tests are skipped, with the install line in the reason, when that interpreter lacks torch or torchvision.
/// </summary>
public static class PythonTorch
{
    public const string InstallHint =
        "apt-get update && apt-get install -y python3-torch python3-torchvision python3-onnx";

    private static readonly Lazy<string?> Missing = new(Probe);

    public static string Interpreter { get; } =
        Environment.GetEnvironmentVariable("HARNESS_PYTHON") is { Length: > 0 } p ? p : "/usr/bin/python3";

    public static string ScriptFolder => Path.Combine(SharedData.RepoRoot, "tests", "Parity", "python");

    /// <summary>Versions reported by the interpreter (torch, torchvision, onnx or "absent").</summary>
    public static IReadOnlyDictionary<string, string> Versions { get; private set; } = new Dictionary<string, string>();

    /// <summary>Marks the test skipped (with the reason and the install line) when PyTorch is not usable.</summary>
    public static void Require()
    {
        if (Missing.Value is { } reason)
            Assert.Ignore($"Skipped: {reason}. Install Debian's PyTorch with: {InstallHint}");
    }

    /// <summary>Runs <paramref name="script"/> with the exchange folder (then <paramref name="args"/>) as its
    /// arguments; fails the test with the script's standard error when it exits non-zero.</summary>
    public static void Run(string script, string exchangeFolder, TimeSpan? timeout = null, IReadOnlyList<string>? args = null)
    {
        Require();
        var (code, _, err) = Execute(timeout ?? TimeSpan.FromMinutes(3), [Path.Combine(ScriptFolder, script), exchangeFolder, .. args ?? []]);
        if (code != 0) Assert.Fail($"{script} exited with {code}:\n{err}");
    }

    private static string? Probe()
    {
        if (Path.IsPathRooted(Interpreter) && !File.Exists(Interpreter)) return $"{Interpreter} does not exist";
        const string code =
            "import json\nv={}\nfor m in ('torch','torchvision','onnx'):\n" +
            "    try:\n        v[m]=__import__(m).__version__\n    except Exception:\n        v[m]='absent'\nprint(json.dumps(v))";
        try
        {
            var (exit, stdout, stderr) = Execute(TimeSpan.FromMinutes(1), "-c", code);
            if (exit != 0) return $"{Interpreter} failed to start ({stderr.Trim()})";
            Versions = JsonSerializer.Deserialize<Dictionary<string, string>>(stdout.Trim().Split('\n')[^1])!;
            var absent = new[] { "torch", "torchvision" }.Where(m => Versions[m] == "absent").ToList();
            return absent.Count == 0 ? null : $"{Interpreter} lacks {string.Join(" and ", absent)}";
        }
        catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or JsonException)
        {
            return $"{Interpreter} could not be run ({ex.Message})";
        }
    }

    private static (int Code, string Out, string Err) Execute(TimeSpan timeout, params string[] args)
    {
        var start = new ProcessStartInfo(Interpreter)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = ScriptFolder,
        };
        foreach (var a in args) start.ArgumentList.Add(a);
        start.Environment["PYTHONDONTWRITEBYTECODE"] = "1";
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"{Interpreter} {string.Join(' ', args)} did not finish within {timeout}");
        }
        process.WaitForExit();
        return (process.ExitCode, stdout.Result, stderr.Result);
    }
}
