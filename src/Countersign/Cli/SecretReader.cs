namespace Countersign.Cli;

/// <summary>
/// Reads passwords for the CLI: masked at a terminal, line by line from redirected standard input (or the
/// reader a test gives). A new password is typed twice, so a typo cannot become the account's password.
/// </summary>
internal sealed class SecretReader(TextReader? input)
{
    /// <summary>The new password, or why there is none (one line for the operator).</summary>
    public (string? Password, string? Error) ReadNew(string? given)
    {
        if (given is not null)
        {
            return given.Length == 0 ? (null, "--password is empty") : (given, null);
        }
        var first = Read("New password: ");
        if (first.Length == 0)
        {
            return (null, "no password given: type it twice at the prompt or on standard input, or use --password");
        }
        var second = Read("Type it again: ");
        return second == first ? (first, null) : (null, "the two passwords differ; nothing changed");
    }

    /// <summary>One secret (a current password), masked at a terminal.</summary>
    public string ReadSecret(string label) => Read(label);

    /// <summary>A line that is not secret (a username, a code, a path), from the same input as the secrets.</summary>
    public string ReadLine(string label)
    {
        if (input is not null)
        {
            return input.ReadLine() ?? "";
        }
        if (!Console.IsInputRedirected)
        {
            Console.Error.Write(label);
        }
        return Console.ReadLine() ?? "";
    }

    private string Read(string label)
    {
        if (input is not null)
        {
            return input.ReadLine() ?? "";
        }
        if (Console.IsInputRedirected)
        {
            return Console.ReadLine() ?? "";
        }
        Console.Error.Write(label);
        var chars = new System.Text.StringBuilder();
        for (var key = Console.ReadKey(intercept: true); key.Key != ConsoleKey.Enter; key = Console.ReadKey(intercept: true))
        {
            if (key.Key == ConsoleKey.Backspace && chars.Length > 0)
            {
                chars.Length--;
            }
            else if (!char.IsControl(key.KeyChar))
            {
                chars.Append(key.KeyChar);
            }
        }
        Console.Error.WriteLine();
        return chars.ToString();
    }
}
