using System.Text.Json;
using System.Text.Unicode;

namespace Countersign.QuadFactor;

/// <summary>The commands, by the seed's codes (docs/quad-factor.md).</summary>
public static class QuadCommandCodes
{
    public const string Login = "100";
    public const string Register = "200";
    public const string RecoverTotp = "300";
    public const string RecoverPassword = "310";
    public const string RecoverFace = "320";
    public const string ReplaceDevice = "330";

    public static readonly IReadOnlySet<string> All = new HashSet<string>([Login, Register, RecoverTotp, RecoverPassword, RecoverFace, ReplaceDevice]);
}

/// <summary>The admin who approves a registration (command 200).</summary>
public sealed record AdminProof(string Username, string Password, string TotpCode);

/// <summary>
/// One request, parsed and checked for shape: every field the command needs is present with its type, base64
/// decodes, the key is a P-256 SubjectPublicKeyInfo, the MAC is a MAC. Nothing here says whether a credential is
/// right; <see cref="Parse"/> refuses a malformed frame with one message, which becomes <c>bad_request</c>.
/// </summary>
public sealed record QuadRequest
{
    /// <summary>JSON nesting allowed: the request object and the <c>admin</c> object in it.</summary>
    public const int MaxDepth = 3;

    /// <summary>Longest text field (usernames, passwords, codes, MACs); photos are bounded by the frame.</summary>
    private const int MaxTextLength = 1024;

    public required string Command { get; init; }
    public required string Username { get; init; }
    public string? Password { get; init; }
    public string? TotpCode { get; init; }
    /// <summary>The photo; empty when the client sent none (the face factor missing).</summary>
    public byte[]? FaceImage { get; init; }
    public required long ClientTime { get; init; }
    public required string Nonce { get; init; }
    public required string Mac { get; init; }
    /// <summary>The device's signature; empty when the client sent none (the device factor missing).</summary>
    public required byte[] Signature { get; init; }
    public byte[]? DevicePublicKey { get; init; }
    public string? NewPassword { get; init; }
    public byte[]? NewFaceImage { get; init; }
    public AdminProof? Admin { get; init; }
    public string? Captcha { get; init; }

    /// <summary>The request, or why the frame is refused (one line, for the error frame's message).</summary>
    public static (QuadRequest? Request, string? Error) Parse(ReadOnlyMemory<byte> frame)
    {
        // RFC 8259 §8.1: JSON exchanged between systems is UTF-8. Checked whole, before the parser sees it.
        if (!Utf8.IsValid(frame.Span))
        {
            return (null, "the frame is not valid UTF-8");
        }
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(frame, new JsonDocumentOptions { MaxDepth = MaxDepth });
        }
        catch (JsonException)
        {
            return (null, "the frame is not one JSON object (or it nests too deeply)");
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return (null, "the frame is not a JSON object");
            }
            try
            {
                return (Read(root), null);
            }
            catch (FieldException e)
            {
                return (null, e.Message);
            }
        }
    }

    private static QuadRequest Read(JsonElement o)
    {
        var command = Text(o, "command", required: true)!;
        if (!QuadCommandCodes.All.Contains(command))
        {
            throw new FieldException("unknown command");
        }
        var needs = Needs(command);
        // A factor's field must be there; its value may be empty, which is that factor missing: refused like a wrong
        // one, with the one generic error, and audited as missing. Only a frame that breaks the shape is a bad_request.
        var request = new QuadRequest
        {
            Command = command,
            Username = Text(o, "username", required: true)!,
            Password = Factor(Text(o, "password", needs.Contains("password"), allowEmpty: true)),
            TotpCode = Factor(Text(o, "totp_code", needs.Contains("totp_code"), allowEmpty: true)),
            FaceImage = Base64(o, "face_image_b64", needs.Contains("face_image_b64"), int.MaxValue),
            ClientTime = Integer(o, "client_time"),
            Nonce = Text(o, "nonce", required: true)!,
            Mac = Text(o, "mac", required: true)!,
            Signature = Base64(o, "signature", required: true, 256)!,
            DevicePublicKey = Base64(o, "device_public_key", needs.Contains("device_public_key"), 256),
            NewPassword = Text(o, "new_password", needs.Contains("new_password")),
            NewFaceImage = Base64(o, "new_face_image_b64", needs.Contains("new_face_image_b64"), int.MaxValue),
            Admin = needs.Contains("admin") ? ReadAdmin(o) : null,
            Captcha = Text(o, "captcha", required: false),
        };
        // 16 bytes at least (128 bits), so a nonce never repeats by chance; at most 64, so it stays a small key.
        if (!TryBase64(request.Nonce, 64, out var nonce) || nonce.Length < 16)
        {
            throw new FieldException("nonce must be 16 to 64 random bytes in base64");
        }
        if (DeviceProof.NormaliseMac(request.Mac) is not { } mac)
        {
            throw new FieldException("mac must be a MAC-48 address such as 02:00:00:aa:bb:cc");
        }
        request = request with { Mac = mac };
        if (request.DevicePublicKey is { } key)
        {
            using var parsed = DeviceProof.ImportP256(key);
            if (parsed is null)
            {
                throw new FieldException("device_public_key must be a DER SubjectPublicKeyInfo of an ECDSA P-256 key");
            }
        }
        return request;
    }

    /// <summary>The fields each command needs besides username, client_time, nonce, mac and signature (the table).</summary>
    private static string[] Needs(string command) => command switch
    {
        QuadCommandCodes.Login => ["password", "totp_code", "face_image_b64"],
        QuadCommandCodes.Register => ["admin", "password", "face_image_b64", "device_public_key"],
        QuadCommandCodes.RecoverTotp => ["password", "face_image_b64"],
        QuadCommandCodes.RecoverPassword => ["totp_code", "face_image_b64", "new_password"],
        QuadCommandCodes.RecoverFace => ["password", "totp_code", "new_face_image_b64"],
        QuadCommandCodes.ReplaceDevice => ["password", "totp_code", "face_image_b64", "device_public_key"],
        _ => [],
    };

    private static AdminProof ReadAdmin(JsonElement o)
    {
        if (!o.TryGetProperty("admin", out var admin) || admin.ValueKind != JsonValueKind.Object)
        {
            throw new FieldException("admin must be an object {username, password, totp_code}");
        }
        return new(Text(admin, "username", true)!, Text(admin, "password", true)!, Text(admin, "totp_code", true)!);
    }

    private static string? Factor(string? value) => string.IsNullOrEmpty(value) ? null : value;

    private static string? Text(JsonElement o, string name, bool required, bool allowEmpty = false)
    {
        if (!o.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return required ? throw new FieldException($"{name} is required") : null;
        }
        if (value.ValueKind != JsonValueKind.String)
        {
            throw new FieldException($"{name} must be a string");
        }
        var text = value.GetString()!;
        if (text.Length == 0 && required && !allowEmpty)
        {
            throw new FieldException($"{name} is required");
        }
        return text.Length > MaxTextLength ? throw new FieldException($"{name} is too long") : text;
    }

    private static long Integer(JsonElement o, string name)
    {
        if (!o.TryGetProperty(name, out var value))
        {
            throw new FieldException($"{name} is required");
        }
        return value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var n)
            ? n
            : throw new FieldException($"{name} must be an integer (Unix seconds)");
    }

    private static byte[]? Base64(JsonElement o, string name, bool required, int maxBytes)
    {
        if (!o.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return required ? throw new FieldException($"{name} is required") : null;
        }
        if (value.ValueKind != JsonValueKind.String)
        {
            throw new FieldException($"{name} must be a base64 string");
        }
        if (!value.TryGetBytesFromBase64(out var bytes) || bytes.Length > maxBytes)
        {
            throw new FieldException($"{name} must be base64 (RFC 4648 §4)");
        }
        // Empty: the factor is missing (a photo or a signature); the new key or new photo must be there.
        return bytes.Length == 0 && name is "device_public_key" or "new_face_image_b64" ? throw new FieldException($"{name} is required") : bytes;
    }

    private static bool TryBase64(string text, int maxBytes, out byte[] bytes)
    {
        bytes = new byte[Math.Min(maxBytes, text.Length)];
        if (Convert.TryFromBase64String(text, bytes, out var written))
        {
            bytes = bytes[..written];
            return true;
        }
        return false;
    }

    private sealed class FieldException(string message) : Exception(message);
}
