using Microsoft.Playwright;

namespace Countersign.Browser.Tests;

/// <summary>
/// Waits for where a page has gone, without <c>IPage.WaitForURLAsync</c> or <c>IPage.WaitForLoadStateAsync</c>. In
/// Playwright .NET both look at the page's state on the test's thread and only then subscribe to the events that change
/// it, which another thread delivers. An event that lands in between is lost, and the wait runs to its timeout on a page
/// that loaded long before (microsoft/playwright-dotnet#3364, open in 1.64). CI failed on it once: SignInAsync waited
/// 30 s for a <c>load</c> that had already fired, its log showing only the <c>networkidle</c> after it. The waits here
/// run in the browser's driver instead, which reads the state itself: an expectation on the URL, then a function polled
/// in the page.
/// <para>
/// The polled functions are given as functions, never as bare expressions. The driver evaluates its argument with
/// <c>eval</c>; a function's value it keeps and calls again on every poll, but an expression it evaluates anew each
/// time. Only the first evaluation runs inside the DevTools call, which CSP exempts; the polls after it run from the
/// page's own animation frames, where our <c>script-src 'self'</c> refuses <c>eval</c> (CSP Level 3, EnsureCSPDoesNotBlockStringCompilation).
/// An expression therefore failed with an EvalError whenever it was false at its first look (CI stop 30, the French captcha page).
/// </para>
/// </summary>
public static class Navigation
{
    /// <summary>Waits until the page's URL matches and its document has loaded (<c>readyState</c> is complete).</summary>
    public static async Task ArriveAsync(this IPage page, Regex url, float timeout = 30_000)
    {
        await Assertions.Expect(page).ToHaveURLAsync(url, new() { Timeout = timeout });
        await page.LoadedAsync(timeout);
    }

    /// <summary>Waits until the page's document has loaded: "complete" is set just before the load event fires (HTML § 8.4, "The end").</summary>
    public static Task LoadedAsync(this IPage page, float timeout = 30_000) =>
        page.WaitForFunctionAsync("() => document.readyState === 'complete'", null, new() { Timeout = timeout });

    /// <summary>
    /// Runs an action that sends the page somewhere (a form's submit) and waits until a new document has replaced this one
    /// and loaded, wherever it is: a mark on this document's window goes with it.
    /// </summary>
    public static async Task NavigateByAsync(this IPage page, Func<Task> action, float timeout = 30_000)
    {
        await page.EvaluateAsync("() => { window.countersignLeft = true; }");
        await action();
        await page.WaitForFunctionAsync("() => window.countersignLeft !== true && document.readyState === 'complete'", null, new() { Timeout = timeout });
    }

    /// <summary>Waits until the page is at this path (no query) and loaded.</summary>
    public static Task ArriveAtAsync(this IPage page, string path, float timeout = 30_000) =>
        page.ArriveAsync(new Regex("^[^?#]*" + Regex.Escape(path) + "$"), timeout);

    /// <summary>Waits until the page has left the sign-in pages and loaded.</summary>
    public static Task LeaveSignInAsync(this IPage page, float timeout = 30_000) =>
        page.ArriveAsync(new Regex("^(?!.*/login)"), timeout);
}
