using Microsoft.AspNetCore.Diagnostics;

namespace Countersign.Operations;

/// <summary>
/// Turns malformed requests (unreadable JSON, wrong types, an over-long body) into a 400 problem with
/// a stable <c>error</c> code, never a 500 and never a stack trace.
/// </summary>
internal sealed class BadRequestExceptionHandler(IProblemDetailsService problems) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext http, Exception exception, CancellationToken ct)
    {
        if (exception is not BadHttpRequestException bad)
        {
            return false;
        }
        var tooLarge = bad.StatusCode == StatusCodes.Status413PayloadTooLarge;
        http.Response.StatusCode = StatusCodes.Status400BadRequest;
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = http,
            Exception = exception,
            ProblemDetails =
            {
                Status = StatusCodes.Status400BadRequest,
                Title = "The request is not valid.",
                Detail = tooLarge ? "The request body is too large." : "The request body could not be read as the expected JSON.",
                Extensions = { ["error"] = tooLarge ? "request_too_large" : "invalid_request" },
            },
        });
    }
}
