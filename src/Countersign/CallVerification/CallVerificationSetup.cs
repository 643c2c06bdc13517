using Microsoft.Extensions.Options;

namespace Countersign.CallVerification;

public static class CallVerificationSetup
{
    public static IHostApplicationBuilder AddCallVerification(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<CallVerificationOptions>().BindValidated(CallVerificationOptions.Section);
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
        if (Ephemeral.RedisOptions.IsConfigured(builder.Configuration))
        {
            // The backplane: a message for a user reaches the node that holds their connection.
            signalR.AddStackExchangeRedis();
            builder.Services.AddOptions<Microsoft.AspNetCore.SignalR.StackExchangeRedis.RedisOptions>()
                // Read when the hub is mapped, before options are validated: a bad value leaves the defaults here
                // and stops the start with the other problems (RedisOptionsValidator).
                .Configure<IConfiguration>((o, configuration) =>
                {
                    var redis = configuration.ComposeTime<Ephemeral.RedisOptions>(Ephemeral.RedisOptions.Section);
                    try
                    {
                        o.Configuration = StackExchange.Redis.ConfigurationOptions.Parse(redis.Configuration!);
                    }
                    catch (ArgumentException)
                    {
                    }
                    o.Configuration.ChannelPrefix = StackExchange.Redis.RedisChannel.Literal(redis.KeyPrefix + "signalr");
                });
        }
        return builder;
    }
}
