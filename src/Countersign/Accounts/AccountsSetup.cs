using Countersign.Storage;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;

namespace Countersign.Accounts;

public static class AccountsSetup
{
    public static IHostApplicationBuilder AddAccounts(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<AccountsOptions>().BindValidated(AccountsOptions.Section);
        services.AddSingleton<IValidateOptions<AccountsOptions>, AccountsOptionsValidator>();
        services.AddOptions<PasswordPolicyOptions>().BindValidated(PasswordPolicyOptions.Section);
        services.AddSingleton<IValidateOptions<PasswordPolicyOptions>, PasswordPolicyOptionsValidator>();

        // Registered before Identity so its TryAdd defaults step aside for ours.
        services.AddSingleton<PasswordHasher>();
        services.AddSingleton<IPasswordHasher<User>>(sp => sp.GetRequiredService<PasswordHasher>());
        services.AddSingleton<ILookupNormalizer, UsernameNormalizer>();

        services.AddIdentityCore<User>(o =>
            {
                o.Stores.SchemaVersion = IdentitySchemaVersions.Version3;
                // PasswordPolicy replaces Identity's composition rules (ASVS 6.2.5: no composition rules by default).
                o.Password.RequireDigit = false;
                o.Password.RequireLowercase = false;
                o.Password.RequireUppercase = false;
                o.Password.RequireNonAlphanumeric = false;
                o.Password.RequiredLength = 0;
                o.Password.RequiredUniqueChars = 0;
                o.User.AllowedUserNameCharacters = "";
                o.User.RequireUniqueEmail = false;
                // Lockout is counted in the ephemeral store, keyed by username, not per stored account.
                o.Lockout.AllowedForNewUsers = false;
            })
            .AddRoles<Role>()
            .AddEntityFrameworkStores<CountersignDb>()
            // For its passkey ceremonies only: sessions are Countersign's own (Sessions/).
            .AddSignInManager()
            .AddPasswordValidator<PasswordPolicy>()
            .AddUserValidator<UsernameValidator>();
        // PasswordPolicy is the one password rule: Identity's own validator (RequiredLength 0 above) would answer
        // an empty password "Passwords must be at least 0 characters" under the same error code.
        services.Remove(services.Single(d => d.ServiceType == typeof(IPasswordValidator<User>) && d.ImplementationType == typeof(PasswordValidator<User>)));
        services.AddScoped<AccountAdmin>();
        return builder;
    }
}
