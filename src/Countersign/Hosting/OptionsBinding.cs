using Microsoft.Extensions.Options;

// In the namespace of OptionsBuilder's own extensions, so every feature's setup finds it without a using.
namespace Microsoft.Extensions.DependencyInjection;

/// <summary>
/// Every options section goes through here: bound by the options system and checked at start with every
/// other section, so all problems are listed at once (StartupTasks.PrepareAsync). A value that cannot be
/// converted (<c>Storage:Provider=Oracle</c>, <c>Tokens:AccessTokenLifetime=abc</c>) is one of those
/// problems, not an exception that hides the rest.
/// </summary>
public static class OptionsBinding
{
    /// <summary>Binds <paramref name="section"/> and validates it at start (its own validators plus conversion failures).</summary>
    public static OptionsBuilder<T> BindValidated<T>(this OptionsBuilder<T> options, string section) where T : class
    {
        options.Configure<IConfiguration>((o, configuration) =>
        {
            try
            {
                configuration.GetSection(section).Bind(o);
            }
            catch (InvalidOperationException)
            {
                // Reported at start by ConversionFailures<T>, with every other problem.
            }
        });
        options.Services.AddSingleton<IValidateOptions<T>>(sp => new ConversionFailures<T>(section, sp.GetRequiredService<IConfiguration>()));
        return options.ValidateOnStart();
    }

    /// <summary>
    /// The few values that decide what to register (the database provider, whether Redis is used) are needed
    /// before the options system runs. They come from the same configuration the options system binds and
    /// validates with the rest at start; a value that cannot be converted gives the defaults here, and start
    /// stops on it before anything registered with those defaults runs.
    /// </summary>
    public static T ComposeTime<T>(this IConfiguration configuration, string section) where T : class, new()
    {
        try
        {
            return configuration.GetSection(section).Get<T>() ?? new();
        }
        catch (InvalidOperationException)
        {
            return new();
        }
    }

    private sealed class ConversionFailures<T>(string section, IConfiguration configuration) : IValidateOptions<T> where T : class
    {
        public ValidateOptionsResult Validate(string? name, T options)
        {
            try
            {
                configuration.GetSection(section).Get<T>();
                return ValidateOptionsResult.Success;
            }
            catch (InvalidOperationException e)
            {
                return ValidateOptionsResult.Fail(e.Message);
            }
        }
    }
}
