using Microsoft.AspNetCore.Http.HttpResults;

namespace Countersign.Operations;

/// <summary>
/// RFC 9457 problem details with a stable machine-readable <c>error</c> code beside the human title.
/// Clients branch on <c>error</c>; titles may change.
/// </summary>
public static class Problems
{
    public static ProblemHttpResult Of(int status, string error, string title, string? detail = null,
        IEnumerable<KeyValuePair<string, object?>>? extensions = null)
    {
        var all = new Dictionary<string, object?> { ["error"] = error };
        foreach (var (key, value) in extensions ?? [])
        {
            all[key] = value;
        }
        return TypedResults.Problem(detail: detail, statusCode: status, title: title, extensions: all);
    }

    public static ProblemHttpResult InvalidRequest(string detail, IDictionary<string, string[]>? errors = null) =>
        Of(StatusCodes.Status400BadRequest, "invalid_request", "The request is not valid.", detail,
            errors is null ? null : [new("errors", errors)]);

    /// <summary>The one answer to every failed sign-in, whatever the cause.</summary>
    public static ProblemHttpResult InvalidCredentials() =>
        Of(StatusCodes.Status401Unauthorized, "invalid_credentials", "The username or password is incorrect.");

    /// <summary>The <c>errors</c> map of a 400 for required fields that were left out or empty.</summary>
    public static Dictionary<string, string[]> Missing(params (string Name, string? Value)[] fields) =>
        fields.Where(f => string.IsNullOrEmpty(f.Value)).ToDictionary(f => f.Name, _ => Required);

    private static readonly string[] Required = ["This field is required."];
}
