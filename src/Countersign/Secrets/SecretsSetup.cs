using Countersign.Storage;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.Extensions.Options;

namespace Countersign.Secrets;

public static class SecretsSetup
{
    public static IHostApplicationBuilder AddSecrets(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<SecretsOptions>().BindValidated(SecretsOptions.Section);
        builder.Services.AddSingleton<IValidateOptions<SecretsOptions>, SecretsOptionsValidator>();
        builder.Services.AddSingleton<KeyMaterial>();
        builder.Services.AddDataProtection()
            .SetApplicationName("countersign")
            .PersistKeysToDbContext<CountersignDb>();
        builder.Services.AddOptions<KeyManagementOptions>()
            .Configure<KeyMaterial>((o, keys) => o.XmlEncryptor = new MasterKeyXmlEncryptor(keys));
        builder.Services.AddScoped<SecretStore>();
        return builder;
    }
}
