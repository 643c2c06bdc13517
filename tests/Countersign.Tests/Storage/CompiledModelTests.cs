using Countersign.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Metadata;

namespace Countersign.Tests.StorageTests;

/// <summary>
/// The server runs on the compiled models in <c>Storage/CompiledModels</c> (EF Core finds them by their assembly
/// attribute) rather than building the model from <c>OnModelCreating</c> at every start. A compiled model is generated
/// code: after a model change it stays as it was until <c>scripts/make-compiled-models</c> runs again, and the server
/// would then run on the old model (a concurrency token it no longer checks, a column it no longer maps). This suite
/// compares each compiled model with the model the code describes, which EF Core still builds on demand as the
/// design-time model.
/// </summary>
public sealed class CompiledModelTests
{
    [Theory]
    [MemberData(nameof(ServerModel.Providers), MemberType = typeof(ServerModel))]
    public async Task The_compiled_model_is_the_model_the_code_describes(string provider, string connectionString)
    {
        await using var app = ServerModel.App(provider, connectionString);
        await using var scope = app.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<CountersignDb>();
        var described = db.GetService<IDesignTimeModel>().Model;
        Assert.IsAssignableFrom<RuntimeModel>(db.Model);
        Assert.NotSame(described, db.Model);

        // Entity types, properties with their facets (required, max length, concurrency, value generation), keys,
        // foreign keys, navigations and indexes; then tables, columns with their store types, and constraints.
        // Annotations are left out: the compiled model drops those only design time reads.
        var expected = Describe(described).Split('\n');
        var actual = Describe(db.Model).Split('\n');
        var first = Enumerable.Range(0, Math.Max(expected.Length, actual.Length))
            .FirstOrDefault(i => expected.ElementAtOrDefault(i) != actual.ElementAtOrDefault(i), -1);
        Assert.True(first < 0,
            $"the {provider} compiled model is out of date: run scripts/make-compiled-models. First difference, line {first + 1}: " +
            $"the code describes '{expected.ElementAtOrDefault(first)?.Trim() ?? "(nothing)"}', " +
            $"the compiled model has '{actual.ElementAtOrDefault(first)?.Trim() ?? "(nothing)"}'");
    }

    private static string Describe(IModel model) =>
        model.ToDebugString(MetadataDebugStringOptions.ShortDefault) + "\n" +
        model.GetRelationalModel().ToDebugString(MetadataDebugStringOptions.ShortDefault);
}
