using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using Countersign.Defences;
using Microsoft.Extensions.Options;

namespace Countersign.LocalAdmin;

/// <summary>An answer from the running server, or why there is none (one line, for the operator).</summary>
public sealed record LocalAdminReply<T>(T? Value, string? Error);

/// <summary>The CLI's side of <see cref="LocalAdminSocket"/>: asks the running server about its live state.</summary>
public sealed class LocalAdminClient(IOptions<LocalAdminOptions> options)
{
    public Task<LocalAdminReply<LockoutView>> LockoutAsync(string username, CancellationToken ct) =>
        SendAsync(HttpMethod.Get, "lockouts/" + Uri.EscapeDataString(username), async r =>
            (await r.Content.ReadFromJsonAsync<LockoutView>(LocalAdminSocket.Json, ct))!, ct);

    public Task<LocalAdminReply<bool>> UnlockAsync(string username, CancellationToken ct) =>
        SendAsync(HttpMethod.Delete, "lockouts/" + Uri.EscapeDataString(username), _ => Task.FromResult(true), ct);

    public Task<LocalAdminReply<AddressView>> AddressAsync(string address, CancellationToken ct) =>
        SendAsync(HttpMethod.Get, "addresses/" + Uri.EscapeDataString(address), async r =>
            (await r.Content.ReadFromJsonAsync<AddressView>(LocalAdminSocket.Json, ct))!, ct);

    public Task<LocalAdminReply<bool>> ResetAddressAsync(string address, CancellationToken ct) =>
        SendAsync(HttpMethod.Delete, "addresses/" + Uri.EscapeDataString(address), _ => Task.FromResult(true), ct);

    private async Task<LocalAdminReply<T>> SendAsync<T>(HttpMethod method, string path, Func<HttpResponseMessage, Task<T>> read, CancellationToken ct)
    {
        if (!options.Value.Enabled)
        {
            return new(default, "LocalAdmin:SocketPath is empty, so the running server cannot be reached");
        }
        var socket = options.Value.FullPath;
        if (!File.Exists(socket))
        {
            return new(default, $"no server is running with this configuration (no admin socket at {socket})");
        }
        try
        {
            using var http = Client(socket);
            using var response = await http.SendAsync(new HttpRequestMessage(method, path), ct);
            return response.IsSuccessStatusCode
                ? new(await read(response), null)
                : new(default, $"the server answered {(int)response.StatusCode} on its admin socket {socket}");
        }
        catch (HttpRequestException e) when (e.InnerException is SocketException { SocketErrorCode: SocketError.ConnectionRefused or SocketError.AddressNotAvailable })
        {
            return new(default, $"no server is running with this configuration (nothing answers on {socket})");
        }
        catch (HttpRequestException e) when (e.InnerException is SocketException { SocketErrorCode: SocketError.AccessDenied })
        {
            return new(default, $"permission denied on {socket}: run this as the server's OS user");
        }
        catch (HttpRequestException e)
        {
            // The server drops connections from another OS user.
            return new(default, $"the server did not answer on {socket} ({e.Message}); run this as the server's OS user");
        }
    }

    /// <summary>True when a server answers on the socket at <paramref name="path"/>.</summary>
    internal static async Task<bool> AnswersAsync(string path, CancellationToken ct)
    {
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), ct);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static HttpClient Client(string path) => new(new SocketsHttpHandler
    {
        ConnectCallback = async (_, ct) =>
        {
            var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), ct);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        },
    })
    { BaseAddress = new Uri("http://localhost/"), Timeout = TimeSpan.FromSeconds(30) };
}
