using System.Text;
using Microsoft.Extensions.Options;

namespace Countersign.LocalAdmin;

/// <summary>Section <c>LocalAdmin</c>: the Unix socket through which the CLI reaches the running server's live state.</summary>
public sealed class LocalAdminOptions
{
    public const string Section = "LocalAdmin";

    /// <summary>Where the server listens for local admin commands (mode 0600); empty turns the socket off.</summary>
    public string? SocketPath { get; set; } = "data/admin.sock";

    public bool Enabled => !string.IsNullOrWhiteSpace(SocketPath);

    public string FullPath => Path.GetFullPath(SocketPath!);
}

internal sealed class LocalAdminOptionsValidator : IValidateOptions<LocalAdminOptions>
{
    /// <summary>sockaddr_un.sun_path holds 108 bytes on Linux, the terminating NUL included.</summary>
    private const int MaxSocketPathBytes = 107;

    public ValidateOptionsResult Validate(string? name, LocalAdminOptions options) =>
        options.Enabled && Encoding.UTF8.GetByteCount(options.FullPath) > MaxSocketPathBytes
            ? ValidateOptionsResult.Fail($"LocalAdmin:SocketPath must be at most {MaxSocketPathBytes} bytes as a full path (a Unix socket limit); '{options.FullPath}' is longer.")
            : ValidateOptionsResult.Success;
}
