namespace Harness.Fuzz;

/// <summary>
/// One reader of untrusted bytes as a fuzz target: the input is written to a file with <paramref name="Extension"/>
/// (the readers take paths, as the commands give them) and <paramref name="Read"/> reads it the way a command does.
/// <paramref name="Dictionary"/> names the AFL dictionary in <c>fuzz/dict</c> (keywords of the format), if any.
/// </summary>
public sealed record FuzzTarget(string Name, string Extension, string Description, Action<string> Read, string? Dictionary = null);
