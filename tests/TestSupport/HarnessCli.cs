using System.CommandLine;
using Harness.Cli;

namespace Harness.Tests.TestSupport;

/// <summary>Runs the whole program (every command, as <c>harness</c> does) in process and captures its exit code,
/// standard output and standard error.</summary>
public static class HarnessCli
{
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
