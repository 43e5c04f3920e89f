using Harness.Cli;
using System.CommandLine;

namespace Harness.Tests.TestSupport;

/// <summary>Runs the program in process — the whole of it (every command, as <c>harness</c> does), or one command —
/// and captures its exit code, standard output and standard error.</summary>
public static class HarnessCli
{
    /// <summary>One command under a root of its own.</summary>
    public static (int Code, string Out, string Err) Run(Command command, params string[] args)
    {
        var root = new RootCommand { command };
        var output = new StringWriter();
        var error = new StringWriter();
        int code = CliRunner.Run(root, args, output, error);
        return (code, output.ToString(), error.ToString());
    }

    /// <summary>The whole program.</summary>
    public static (int Code, string Out, string Err) Run(params string[] args)
    {
        var root = new RootCommand();
        foreach (var c in CommandCatalog.All()) root.Subcommands.Add(c);
        var output = new StringWriter();
        var error = new StringWriter();
        int code = CliRunner.Run(root, args, output, error);
        return (code, output.ToString(), error.ToString());
    }
}
