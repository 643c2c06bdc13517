using Deque.AxeCore.Commons;
using Deque.AxeCore.Playwright;
using Microsoft.Playwright;

namespace Countersign.Browser.Tests;

/// <summary>
/// The accessibility checks every scenario can run on its pages (issue 16): axe-core finds no serious or critical
/// violation (WCAG 2.2 A and AA rules), and the page fits a phone's width without sideways scrolling.
/// </summary>
public static class Accessibility
{
    /// <summary>An iPhone 12–15's CSS viewport: the narrowest screen the pages promise to fit.</summary>
    public static readonly ViewportSize Phone = new() { Width = 390, Height = 844 };

    private static readonly AxeRunOptions Options = new()
    {
        RunOnly = new RunOnlyOptions { Type = "tag", Values = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"] },
    };

    /// <summary>Fails with every serious or critical violation axe finds on the page as it is now.</summary>
    public static async Task AssertAccessibleAsync(this IPage page)
    {
        var result = await page.RunAxe(Options);
        var serious = result.Violations.Where(v => v.Impact is "serious" or "critical").ToList();
        Assert.True(serious.Count == 0, $"axe on {page.Url}:\n" + string.Join("\n", serious.Select(v =>
            $"  {v.Impact} {v.Id}: {v.Help} — {string.Join(" | ", v.Nodes.Take(3).Select(n => n.Html))}")));
    }

    /// <summary>Fails when the page is wider than its viewport (a phone would scroll sideways).</summary>
    public static async Task AssertFitsWidthAsync(this IPage page)
    {
        var (content, viewport) = (await page.EvaluateAsync<int>("document.documentElement.scrollWidth"), await page.EvaluateAsync<int>("window.innerWidth"));
        if (content > viewport)
        {
            // The innermost elements that stick out, so the failure says what to fix.
            var culprits = await page.EvaluateAsync<string[]>("""
                [...document.querySelectorAll('body *')]
                  .filter(e => e.getBoundingClientRect().right > window.innerWidth + 0.5)
                  .filter(e => ![...e.children].some(c => c.getBoundingClientRect().right > window.innerWidth + 0.5))
                  .slice(0, 5)
                  .map(e => `${e.tagName.toLowerCase()}${e.id ? '#' + e.id : ''}.${[...e.classList].join('.')} right=${Math.round(e.getBoundingClientRect().right)}`)
                """);
            Assert.Fail($"{page.Url} is {content} px wide in a {viewport} px viewport: {string.Join(", ", culprits)}");
        }
    }
}
