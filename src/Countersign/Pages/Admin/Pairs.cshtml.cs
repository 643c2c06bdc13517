using Countersign.CallVerification;
using Microsoft.AspNetCore.Mvc;

namespace Countersign.Pages.Admin;

/// <summary>Advisor–client pairs: list, search, add, remove, and a CSV import (advisor,client per line) previewed line by line first.</summary>
public sealed class PairsModel(PairService pairs) : AdminPageModel
{
    /// <summary>The most lines one import takes (a larger file goes through <c>countersign pairs import</c>).</summary>
    public const int MaxLines = 2000;

    [BindProperty(SupportsGet = true)]
    public string? Search { get; set; }

    [BindProperty]
    public string? Advisor { get; set; }

    [BindProperty]
    public string? Client { get; set; }

    [BindProperty]
    public Guid PairId { get; set; }

    [BindProperty]
    public string? Csv { get; set; }

    /// <summary>Pairs per page of the list.</summary>
    public const int PageSize = 50;

    [BindProperty(SupportsGet = true, Name = "p")]
    public int PageNumber { get; set; } = 1;

    public List<PairSummary> Pairs { get; private set; } = [];

    /// <summary>Whether a page after this one exists (one more row than a page is read to know).</summary>
    public bool HasMore { get; private set; }

    public sealed record PreviewLine(int Line, string Advisor, string Client, string? Error);

    public List<PreviewLine>? Preview { get; private set; }

    public async Task OnGetAsync(CancellationToken ct) => await LoadAsync(ct);

    public async Task<IActionResult> OnPostAddAsync(CancellationToken ct)
    {
        var (pair, error) = await pairs.CreateAsync(Advisor?.Trim() ?? "", Client?.Trim() ?? "", Actor, ct);
        return pair is null ? Refused(Describe(error)) : Done(Text["Paired {0} with {1}.", Advisor!.Trim(), Client!.Trim()]);
    }

    public async Task<IActionResult> OnPostRemoveAsync(CancellationToken ct)
    {
        if (await pairs.FindAsync(PairId, ct) is not { } pair)
        {
            return Refused(Text["No such pair."]);
        }
        if (!Confirmed)
        {
            return AskFirst(Text["Remove the pair {0} and {1}?", pair.Advisor, pair.Client],
                Text["Neither sees the other's words any more, and a call between them can no longer be verified."], ("PairId", pair.Id.ToString()));
        }
        return await pairs.RemoveAsync(PairId, Actor, ct) ? Done(Text["Pair removed."]) : Refused(Text["No such pair."]);
    }

    /// <summary>Checks every line and shows what an import would do; nothing is created (a POST only because the file is large).</summary>
    public async Task<IActionResult> OnPostPreviewAsync(CancellationToken ct)
    {
        if (Parse() is not { } lines)
        {
            return Refused(Text["Paste at most {0} lines of advisor,client.", MaxLines]);
        }
        Preview = [];
        foreach (var (line, advisor, client, shape) in lines)
        {
            var error = shape ?? (await pairs.CheckAsync(advisor, client, ct) is var e && e != PairError.None ? Describe(e) : null);
            Preview.Add(new(line, advisor, client, error));
        }
        await LoadAsync(ct);
        return Page();
    }

    public async Task<IActionResult> OnPostImportAsync(CancellationToken ct)
    {
        if (Parse() is not { } lines)
        {
            return Refused(Text["Paste at most {0} lines of advisor,client.", MaxLines]);
        }
        int created = 0;
        var refused = new List<string>();
        foreach (var (line, advisor, client, shape) in lines)
        {
            var error = shape ?? (await pairs.CreateAsync(advisor, client, Actor, ct) is { Error: var e } && e != PairError.None ? Describe(e) : null);
            if (error is null)
            {
                created++;
            }
            else
            {
                refused.Add(Text["line {0}: {1}", line, error]);
            }
        }
        Notice = Text["Created {0} pair(s), {1} refused.", created, refused.Count];
        return refused.Count > 0 ? Refused(string.Join(" · ", refused.Take(20))) : Redirect(Here());
    }

    /// <summary>advisor,client per line; a header line and blank lines are skipped; null when the paste is too large.</summary>
    private List<(int Line, string Advisor, string Client, string? Shape)>? Parse()
    {
        var text = (Csv ?? "").Split('\n');
        if (text.Length > MaxLines + 1 || (Csv?.Length ?? 0) > 200_000)
        {
            return null;
        }
        var lines = new List<(int, string, string, string?)>();
        for (var i = 0; i < text.Length; i++)
        {
            var raw = text[i].Trim();
            if (raw.Length == 0 || (i == 0 && raw.StartsWith("advisor", StringComparison.OrdinalIgnoreCase)))
            {
                continue;
            }
            var parts = raw.Split(',', StringSplitOptions.TrimEntries);
            lines.Add(parts.Length == 2 && parts[0].Length > 0 && parts[1].Length > 0
                ? (i + 1, parts[0], parts[1], null)
                : (i + 1, raw.Length > 80 ? raw[..80] + "…" : raw, "", Text["expected advisor,client"]));
        }
        return lines;
    }

    private string Describe(PairError error) => error switch
    {
        PairError.UnknownAdvisor => Text["No account has the advisor's username."],
        PairError.UnknownClient => Text["No account has the client's username."],
        PairError.NotAnAdvisor => Text["The advisor's account does not have the advisor role."],
        PairError.NotAClient => Text["The client's account does not have the client role."],
        _ => Text["These two are already paired."],
    };

    /// <summary>One page, searched and paged in the database (the console once read every pair and filtered 500 in memory).</summary>
    private async Task LoadAsync(CancellationToken ct)
    {
        PageNumber = Math.Clamp(PageNumber, 1, 100_000);
        var q = Search?.Trim();
        // A term no username can hold finds nothing without a query (and PostgreSQL refuses a NUL: the fuzzer's 500).
        if (!string.IsNullOrEmpty(q) && (q.Length > 64 || q.Any(char.IsControl) || !IsWellFormed(q)))
        {
            Pairs = [];
            return;
        }
        var rows = await pairs.SearchAsync(q, (PageNumber - 1) * PageSize, PageSize + 1, ct);
        HasMore = rows.Count > PageSize;
        Pairs = [.. rows.Take(PageSize)];
    }

    /// <summary>No lone surrogate: Unicode normalisation (the names' canonical form) refuses one.</summary>
    private static bool IsWellFormed(string value)
    {
        try
        {
            _ = value.Normalize(System.Text.NormalizationForm.FormKC);
            return true;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }
}
