using Microsoft.Extensions.Options;

namespace Countersign.CallVerification;

public static class CallVerificationSetup
{
    public static IHostApplicationBuilder AddCallVerification(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<CallVerificationOptions>().BindConfiguration(CallVerificationOptions.Section).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<CallVerificationOptions>, CallVerificationOptionsValidator>();
        builder.Services.AddScoped<PairService>();
        builder.Services.AddScoped<CallNotices>();
        builder.Services.AddScoped<Accounts.IAccountObserver, PairWordsObserver>();
        builder.Services.AddScoped<Secrets.IProtectedSecrets, PairSecrets>();
        builder.Services.AddSingleton<LocalConnections>();
        builder.Services.AddSingleton<Microsoft.AspNetCore.SignalR.IUserIdProvider, SubjectUserIdProvider>();
        builder.Services.AddHostedService<WordRotation>();
        builder.Services.AddSingleton<ShownAudit>();
        builder.Services.AddHostedService(services => services.GetRequiredService<ShownAudit>());
        var signalR = builder.Services.AddSignalR(o => o.EnableDetailedErrors = false)
            .AddJsonProtocol(o => o.PayloadSerializerOptions.PropertyNamingPolicy = System.Text.Json.JsonNamingPolicy.SnakeCaseLower);
        var redis = builder.Configuration.GetSection(Ephemeral.RedisOptions.Section).Get<Ephemeral.RedisOptions>();
        if (!string.IsNullOrWhiteSpace(redis?.Configuration))
        {
            // The backplane: a message for a user reaches the node that holds their connection.
            signalR.AddStackExchangeRedis(redis.Configuration, o => o.Configuration.ChannelPrefix =
                StackExchange.Redis.RedisChannel.Literal(redis.KeyPrefix + "signalr"));
        }
        return builder;
    }
}
