using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;

namespace Countersign.Passkeys;

public static class PasskeysSetup
{
    public static IHostApplicationBuilder AddPasskeys(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<PasskeysOptions>().BindValidated(PasskeysOptions.Section);
        builder.Services.AddSingleton<IValidateOptions<PasskeysOptions>, PasskeysOptionsValidator>();
        builder.Services.AddOptions<IdentityPasskeyOptions>().Configure<IOptions<PasskeysOptions>>((o, passkeys) =>
        {
            var options = passkeys.Value;
            o.ServerDomain = options.RelyingPartyId;
            if (options.Origins.Count > 0)
            {
                var allowed = options.Origins.Select(x => x.TrimEnd('/')).ToHashSet(StringComparer.OrdinalIgnoreCase);
                o.ValidateOrigin = context => ValueTask.FromResult(!context.CrossOrigin && allowed.Contains(context.Origin.TrimEnd('/')));
            }
        });
        return builder;
    }
}
