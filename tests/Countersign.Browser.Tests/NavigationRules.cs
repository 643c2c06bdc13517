namespace Countersign.Browser.Tests;

/// <summary>Keeps Playwright .NET's racy page waits out of the scenarios (Navigation.cs says why).</summary>
public sealed class NavigationRules
{
    [Fact]
    public void The_scenarios_wait_for_pages_only_through_Navigation()
    {
        var folder = Path.Combine(Countersign.Tests.Infrastructure.Repository.Root, "tests", "Countersign.Browser.Tests");
        var offenders = Directory.EnumerateFiles(folder, "*.cs")
            .Where(file => Path.GetFileName(file) is not ("Navigation.cs" or "NavigationRules.cs"))
            .SelectMany(file => File.ReadLines(file).Select((line, index) => (file, line, index)))
            .Where(x => x.line.Contains(".WaitForURLAsync(", StringComparison.Ordinal) || x.line.Contains(".WaitForLoadStateAsync(", StringComparison.Ordinal))
            .Select(x => $"{Path.GetFileName(x.file)}:{x.index + 1}: {x.line.Trim()}")
            .ToList();
        Assert.True(offenders.Count == 0, "use Navigation's waits instead:\n" + string.Join("\n", offenders));
    }

    [Fact]
    public void Polled_waits_are_given_functions_which_the_driver_evaluates_once()
    {
        var folder = Path.Combine(Countersign.Tests.Infrastructure.Repository.Root, "tests", "Countersign.Browser.Tests");
        var offenders = Directory.EnumerateFiles(folder, "*.cs")
            .Where(file => Path.GetFileName(file) is not "NavigationRules.cs")
            .SelectMany(file => File.ReadLines(file).Select((line, index) => (file, line, index)))
            .Where(x => x.line.Contains(".WaitForFunctionAsync(", StringComparison.Ordinal) && !x.line.Contains(".WaitForFunctionAsync(\"() =>", StringComparison.Ordinal))
            .Select(x => $"{Path.GetFileName(x.file)}:{x.index + 1}: {x.line.Trim()}")
            .ToList();
        Assert.True(offenders.Count == 0, "give WaitForFunctionAsync an arrow function, not an expression the page's CSP refuses to eval on every poll:\n" + string.Join("\n", offenders));
    }
}
