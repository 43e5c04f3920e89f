using System.CommandLine;
using Harness.Cli;

namespace Harness.Tests.Unit.Cli;

/// <summary>Runs one command of the program in-process and captures its exit code, standard output and errors.</summary>
public static class CliHarness
{
    public static (int Code, string Out, string Err) Run(Command command, params string[] args)
    {
        var root = new RootCommand { command };
        var output = new StringWriter();
        var error = new StringWriter();
        int code = CliRunner.Run(root, args, output, error);
        return (code, output.ToString(), error.ToString());
    }
}
