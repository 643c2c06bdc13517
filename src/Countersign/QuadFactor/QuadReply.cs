using System.Text.Json.Nodes;

namespace Countersign.QuadFactor;

/// <summary>A response frame: <c>{"status": "ok"|"error", "message", "error"?, ...}</c>; <see cref="Close"/> ends the connection after it.</summary>
public sealed record QuadReply(JsonObject Body, bool Close = false)
{
    public static QuadReply Ok(string message, JsonObject? fields = null)
    {
        var body = new JsonObject { ["status"] = "ok", ["message"] = message };
        foreach (var (key, value) in fields ?? [])
        {
            body[key] = value?.DeepClone();
        }
        return new(body);
    }

    public static QuadReply Error(string code, string message, JsonObject? fields = null, bool close = false)
    {
        var body = new JsonObject { ["status"] = "error", ["message"] = message, ["error"] = code };
        foreach (var (key, value) in fields ?? [])
        {
            body[key] = value?.DeepClone();
        }
        return new(body, close);
    }
}
