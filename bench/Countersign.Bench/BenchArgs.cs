/// <summary>
/// A bench's command line: <c>--name value</c> options and <c>--flag</c> switches, each bench naming the ones it takes.
/// An option it does not take (a typo, another bench's) stops the run before anything starts, with exit 2: a bench
/// that ignored one ran for twenty minutes on its defaults (<c>bench/run --help</c> once started a full run).
/// </summary>
internal sealed class BenchArgs
{
    private readonly string[] _args;
    private readonly SortedSet<string> _known;

    /// <param name="args">The arguments after the bench's verb.</param>
    /// <param name="known">Every option and switch the bench reads; <c>--smoke</c> is always one.</param>
    public BenchArgs(string[] args, params string[] known)
    {
        _args = args;
        _known = new(known.Append("--smoke"), StringComparer.Ordinal);
        var unknown = args.Where(a => a.StartsWith("--", StringComparison.Ordinal) && !_known.Contains(a)).Distinct().ToList();
        if (unknown.Count > 0)
        {
            throw new ArgumentException($"unknown option {string.Join(", ", unknown)}: this bench takes {string.Join(", ", _known)} (its run script's --help says what each does)");
        }
    }

    /// <summary>A second or two of everything (scripts/test runs it), to check the bench still works.</summary>
    public bool Smoke => _args.Contains("--smoke");

    /// <summary>The value after <paramref name="name"/>, or null when it is not given.</summary>
    public string? Get(string name) => _args.SkipWhile(a => a != Declared(name)).Skip(1).FirstOrDefault();

    private string Declared(string name) =>
        _known.Contains(name) ? name : throw new InvalidOperationException($"the bench reads {name} without declaring it");
}
