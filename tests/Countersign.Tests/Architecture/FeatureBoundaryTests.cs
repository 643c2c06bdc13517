using System.Text.RegularExpressions;
using Countersign.Hosting;
using Countersign.Tests.Infrastructure;

namespace Countersign.Tests.Architecture;

/// <summary>
/// Which feature folder of src/Countersign may use which (docs/architecture.md, "Feature dependencies"): a
/// feature uses the layers below it and the features it names, never back up, so there are no cycles.
/// Read from the source: <c>using Countersign.X;</c>, <c>Countersign.X.</c> and <c>X.Type</c> for every
/// type the assembly has in <c>Countersign.X</c>.
/// </summary>
public sealed partial class FeatureBoundaryTests
{
    private static readonly string[] Foundation = ["Operations", "Ephemeral", "Storage", "Audit", "Secrets"];

    /// <summary>Each folder and what it may use besides the foundation. Storage may name every entity (it is the model).</summary>
    private static readonly Dictionary<string, string[]> Allowed = new()
    {
        ["Operations"] = [],
        ["Ephemeral"] = [],
        // The model: it names every feature's entities, and only they depend on it, through CountersignDb.
        ["Storage"] = [],
        ["Audit"] = ["Operations", "Storage", "Secrets"],
        ["Secrets"] = ["Operations", "Storage"],
        // Brute-force defences count strings (usernames, addresses), whether or not an account exists.
        ["Defences"] = [],
        ["Accounts"] = ["Defences"],
        ["Sessions"] = ["Accounts"],
        ["Totp"] = ["Accounts", "Sessions", "Defences"],
        ["CallVerification"] = ["Accounts", "Sessions"],
        ["SignIn"] = ["Accounts", "Sessions", "Defences", "Totp"],
        ["Passkeys"] = ["Accounts", "Sessions", "SignIn"],
        ["Attack"] = ["Defences"],
        // Devices sign in through the core (a TOTP code or a passkey); grants and verify stand on accounts.
        ["ForwardAuth"] = ["Accounts", "SignIn", "Passkeys"],
        // The server's local admin socket: what the CLI asks a running server to do to its live state.
        ["LocalAdmin"] = ["Defences"],
        // The TLS socket protocol: its commands go through the sign-in core; face and device are its factor checks.
        ["QuadFactor"] = ["Accounts", "Sessions", "SignIn", "Totp"],
        // The OpenID Connect provider: the cookie session of /login is its sign-in; its tokens use the API's signing keys.
        ["Oidc"] = ["Accounts", "Sessions", "SignIn"],
        // The pages' language: the signed-in user's own setting first.
        ["Localization"] = ["Accounts"],
        // Administration over the API and the console: the same services the CLI calls, and the step-up policy.
        ["Admin"] = ["Accounts", "Sessions", "Totp", "Defences"],
    };

    /// <summary>The composition root, the CLI, the pages and the model may use anything.</summary>
    private static readonly string[] Top = ["Hosting", "Cli", "Pages", "Storage"];

    [Fact]
    public void Features_use_only_the_folders_below_them()
    {
        var source = Path.Combine(Repository.Root, "src", "Countersign");
        var folders = Directory.GetDirectories(source).Select(Path.GetFileName).OfType<string>()
            .Where(f => f is not ("bin" or "obj" or "wwwroot" or "ClientLibs"))
            // A folder without source is not a feature: `dotnet run` from the project folder leaves its data/ there.
            .Where(f => Directory.EnumerateFiles(Path.Combine(source, f), "*.cs", SearchOption.AllDirectories).Any()).ToList();
        var typesByFolder = typeof(CountersignApp).Assembly.GetTypes()
            .Where(t => t.Namespace?.StartsWith("Countersign.", StringComparison.Ordinal) == true && !t.Name.Contains('<', StringComparison.Ordinal))
            .GroupBy(t => t.Namespace!.Split('.')[1])
            .ToDictionary(g => g.Key, g => g.Select(t => t.Name.Split('`')[0]).ToHashSet());

        var violations = new List<string>();
        foreach (var folder in folders.Where(f => !Top.Contains(f)))
        {
            Assert.True(Allowed.ContainsKey(folder), $"{folder}/ is a new feature folder: say what it may use, here and in docs/architecture.md.");
            foreach (var file in Directory.EnumerateFiles(Path.Combine(source, folder), "*.cs", SearchOption.AllDirectories)
                .Where(f => !f.Contains("Migrations", StringComparison.Ordinal)))
            {
                var code = Comments().Replace(File.ReadAllText(file), "");
                foreach (var (other, types) in typesByFolder.Where(t => t.Key != folder && folders.Contains(t.Key)))
                {
                    var uses = code.Contains($"using Countersign.{other};", StringComparison.Ordinal)
                        || code.Contains($"Countersign.{other}.", StringComparison.Ordinal)
                        || types.Any(t => code.Contains($"{other}.{t}", StringComparison.Ordinal));
                    if (uses && !MayUse(folder, other))
                    {
                        violations.Add($"{Path.GetRelativePath(source, file)} uses {other}/");
                    }
                }
            }
        }
        Assert.Empty(violations);
    }

    [Fact]
    public void The_allowed_graph_has_no_cycles()
    {
        var state = new Dictionary<string, int>();
        bool Cyclic(string node)
        {
            if (state.TryGetValue(node, out var s))
            {
                return s == 1;
            }
            state[node] = 1;
            var cyclic = Edges(node).Any(Cyclic);
            state[node] = 2;
            return cyclic;
        }
        Assert.DoesNotContain(Allowed.Keys, Cyclic);
    }

    private static IEnumerable<string> Edges(string folder) =>
        Allowed[folder].Concat(Foundation.Where(f => MayUse(folder, f) && f != folder)).Distinct();

    /// <summary>The foundation may use what its entry says; every other folder may also use the whole foundation.</summary>
    private static bool MayUse(string folder, string other) =>
        Allowed[folder].Contains(other) || (!Foundation.Contains(folder) && Foundation.Contains(other) && other != "Storage")
        || (!Foundation.Contains(folder) && other == "Storage");


    /// <summary>Comments and string literals (a Data Protection purpose names its feature, and uses nothing).</summary>
    [GeneratedRegex(@"//[^\n]*|/\*.*?\*/|""(?:[^""\\\n]|\\.)*""", RegexOptions.Singleline)]
    private static partial Regex Comments();
}
