using System.Reflection;
using System.Text.RegularExpressions;
using Countersign.Operations;
using Countersign.Tests.Infrastructure;

namespace Countersign.Tests.Architecture;

public sealed partial class ErrorCodesDocTests
{
    [Fact]
    public void Every_error_code_is_in_docs_errors_md_and_every_documented_code_exists()
    {
        var codes = typeof(ErrorCodes).GetFields(BindingFlags.Public | BindingFlags.Static)
            .Select(f => (string)f.GetValue(null)!).ToHashSet();
        var documented = Row().Matches(File.ReadAllText(Path.Combine(Repository.Root, "docs", "errors.md")))
            .Select(m => m.Groups[1].Value).ToHashSet();
        Assert.Empty(codes.Except(documented));
        Assert.Empty(documented.Except(codes));
    }

    [GeneratedRegex(@"^\| `([a-z_]+)` \| \d{3} \|", RegexOptions.Multiline)]
    private static partial Regex Row();
}
