using ComputeBank.Api.Ledger;
using ComputeBank.Domain;
using ComputeBank.EventStore;
using Npgsql;

namespace ComputeBank.Api.Hosting;

/// <summary>
/// Where the queries that may be slightly stale read from: the optional connection string
/// <c>ConnectionStrings:ComputeBankReadOnly</c> (typically the same hosts with <c>Target Session Attributes=prefer-standby</c>,
/// so reads go to a hot standby while one is up and fall back to the primary otherwise), or the primary when it is
/// not configured. Only endpoints marked with <see cref="ReadReplicaEndpoints.ReadsFromReplica"/> use it, and their
/// answers carry <see cref="Header"/>. Commands, idempotency, operation lookups and everything a command's answer
/// depends on always use the primary's <see cref="MartenEventStore"/>.
/// </summary>
public sealed class ReadReplica : IAsyncDisposable
{
    /// <summary>The name of the optional read-only connection string.</summary>
    public const string ConnectionStringName = "ComputeBankReadOnly";

    /// <summary>Response header on answers of replica-eligible queries: <c>standby</c> (read through the read-only
    /// connection, possibly behind the primary by the replication lag) or <c>primary</c> (no read-only connection configured).</summary>
    public const string Header = "X-ComputeBank-Read-Source";

    private readonly bool _owned;

    private ReadReplica(MartenEventStore store, bool isReplica)
    {
        Store = store;
        IsReplica = isReplica;
        _owned = isReplica;
    }

    /// <summary>The store to read from (the primary's own store when no read-only connection is configured).</summary>
    public MartenEventStore Store { get; }

    /// <summary>Whether reads go through the read-only connection string.</summary>
    public bool IsReplica { get; }

    /// <summary>The value of <see cref="Header"/>.</summary>
    public string Source => IsReplica ? "standby" : "primary";

    /// <summary>A replica store on <paramref name="readOnlyConnectionString"/>, or the primary's store when it is empty.</summary>
    public static ReadReplica Create(string? readOnlyConnectionString, MartenEventStore primary, ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(primary);
        if (string.IsNullOrWhiteSpace(readOnlyConnectionString))
        {
            return new ReadReplica(primary, isReplica: false);
        }

        var store = MartenEventStore.Create(
            new EventStoreOptions { ConnectionString = readOnlyConnectionString, Schema = primary.Schema, Json = DomainJson.Options },
            LedgerTypes.Registry(),
            loggerFactory);
        return new ReadReplica(store, isReplica: true);
    }

    /// <summary>
    /// Refuses a primary connection string that could land writes on a standby: with several hosts it must say
    /// <c>Target Session Attributes=primary</c> (or <c>read-write</c>); Npgsql's default (<c>any</c>) takes the first
    /// host that answers, which after a failover may be the old primary restarted as a standby.
    /// </summary>
    public static void ValidatePrimary(string connectionString)
    {
        var settings = new NpgsqlConnectionStringBuilder(connectionString);
        if (settings.Host is not { } host || !host.Contains(',', StringComparison.Ordinal))
        {
            return;
        }

        var target = settings.TargetSessionAttributes?.Trim().ToLowerInvariant();
        if (target is not ("primary" or "read-write"))
        {
            throw new InvalidOperationException(
                $"ConnectionStrings:{ComputeBankHost.ConnectionStringName} lists several hosts ({host}) but its Target Session Attributes is " +
                $"'{target ?? "any"}': writes could reach a standby. Add 'Target Session Attributes=primary'; put prefer-standby reads in " +
                $"ConnectionStrings:{ConnectionStringName}.");
        }
    }

    /// <summary>Refuses at start-up what Npgsql would refuse at the first query: Target Session Attributes with a single host.</summary>
    public static void ValidateReadOnly(string? readOnlyConnectionString)
    {
        if (string.IsNullOrWhiteSpace(readOnlyConnectionString))
        {
            return;
        }

        var settings = new NpgsqlConnectionStringBuilder(readOnlyConnectionString);
        if (settings.TargetSessionAttributes is { } target && settings.Host?.Contains(',', StringComparison.Ordinal) != true)
        {
            throw new InvalidOperationException(
                $"ConnectionStrings:{ConnectionStringName} sets Target Session Attributes={target} with a single host; list the primary and " +
                "its standbys (Host=a:5432,b:5432) or leave Target Session Attributes out.");
        }
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync() => _owned ? Store.DisposeAsync() : ValueTask.CompletedTask;
}

/// <summary>Marks query endpoints that may read from <see cref="ReadReplica"/>.</summary>
public static class ReadReplicaEndpoints
{
    /// <summary>Sets <see cref="ReadReplica.Header"/> on the answer, so that clients can tell a possibly stale read.</summary>
    public static RouteHandlerBuilder ReadsFromReplica(this RouteHandlerBuilder endpoint) =>
        endpoint.AddEndpointFilter(async (context, next) =>
        {
            context.HttpContext.Response.Headers[ReadReplica.Header] = context.HttpContext.RequestServices.GetRequiredService<ReadReplica>().Source;
            return await next(context);
        });
}
