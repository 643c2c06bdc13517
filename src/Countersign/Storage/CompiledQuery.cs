using System.Runtime.CompilerServices;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata;

namespace Countersign.Storage;

/// <summary>
/// A query EF Core compiles once per model instead of finding its cached plan on every call (which walks and hashes
/// the whole expression tree each time). EF binds a compiled query to the first model it runs against and refuses
/// any other (<c>CompiledQueryDifferentModel</c>); a server holds one model, but a process may hold several (the test
/// suite runs SQLite and PostgreSQL hosts side by side), so the compiled delegate is kept per model.
/// </summary>
/// <example><c>static readonly CompiledQuery&lt;Func&lt;CountersignDb, string, CancellationToken, Task&lt;T?&gt;&gt;&gt; Q = new(() =&gt; EF.CompileAsyncQuery(…));</c>, then <c>Q.For(db)(db, key, ct)</c>.</example>
internal sealed class CompiledQuery<TQuery>(Func<TQuery> compile) where TQuery : class
{
    private readonly ConditionalWeakTable<IModel, TQuery> _byModel = new();
    private readonly ConditionalWeakTable<IModel, TQuery>.CreateValueCallback _compile = _ => compile();

    public TQuery For(DbContext db) => _byModel.GetValue(db.Model, _compile);
}
