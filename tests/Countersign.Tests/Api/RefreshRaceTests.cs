using System.Data.Common;
using System.Net;
using Countersign.Audit;
using Countersign.Storage;
using Countersign.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Npgsql;

namespace Countersign.Tests.Api;

/// <summary>
/// Once armed, lets another connection exchange every unused refresh token just before the next refresh's save reaches
/// the database: the moment a concurrent request with the same token wins the race, made certain.
/// </summary>
public sealed class LoseNextRefreshRace : DbCommandInterceptor
{
    private volatile bool _armed;

    public bool Armed { get => _armed; set => _armed = value; }

    public override async ValueTask<InterceptionResult<DbDataReader>> ReaderExecutingAsync(DbCommand command, CommandEventData eventData,
        InterceptionResult<DbDataReader> result, CancellationToken cancellationToken = default)
    {
        if (Armed && command.CommandText.Contains("UPDATE refresh_tokens", StringComparison.Ordinal))
        {
            Armed = false;
            await using var other = new NpgsqlConnection(eventData.Context!.Database.GetConnectionString());
            await other.OpenAsync(cancellationToken);
            await using var exchange = new NpgsqlCommand("""UPDATE refresh_tokens SET "UsedAt" = now() WHERE "UsedAt" IS NULL""", other);
            await exchange.ExecuteNonQueryAsync(cancellationToken);
        }
        return result;
    }
}

public sealed class RefreshRaceServer() : TestServer(Database.Postgres)
{
    public LoseNextRefreshRace Race { get; } = new();

    protected override void ConfigureServices(IServiceCollection services) => services.AddSingleton<IInterceptor>(Race);
}

/// <summary>
/// The refresh claims its token in its own save (UsedAt is a concurrency token, SessionService.RefreshAsync). A request
/// that read the token unused but lost the claim to another is reuse: refused, the family revoked, audited
/// (RFC 9700 §4.14.2), and nothing of its own rotation kept.
/// </summary>
public sealed class RefreshRaceTests(RefreshRaceServer server) : ApiSuiteBase(server), IClassFixture<RefreshRaceServer>
{
    [Fact]
    public async Task A_refresh_that_loses_the_claim_to_another_revokes_the_family_and_keeps_nothing_of_its_rotation()
    {
        var name = await RegisterAsync();
        var tokens = await LoginAsync(name);
        var tokensBefore = await WithScope(sp => sp.GetRequiredService<CountersignDb>().RefreshTokens.CountAsync());

        server.Race.Armed = true;
        var refused = await Client.PostJson("/api/auth/refresh", new { refresh_token = tokens.GetProperty("refresh_token").GetString() });

        Assert.False(server.Race.Armed);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        var me = await Client.SendAsync(WithToken(HttpMethod.Get, "/api/me", tokens.GetProperty("access_token").GetString()!));
        Assert.Equal(HttpStatusCode.Unauthorized, me.StatusCode);
        Assert.True(await WithScope(sp => sp.GetRequiredService<CountersignDb>().AuditEvents
            .AnyAsync(e => e.Action == AuditActions.RefreshReuseDetected && e.Username == name)));
        Assert.False(await WithScope(sp => sp.GetRequiredService<CountersignDb>().AuditEvents
            .AnyAsync(e => e.Action == AuditActions.Refresh && e.Username == name)));
        Assert.Equal(tokensBefore, await WithScope(sp => sp.GetRequiredService<CountersignDb>().RefreshTokens.CountAsync()));
    }
}
