using System.Collections.Concurrent;
using Npgsql;

namespace ComputeBank.EventStore;

/// <summary>What the store writes into Marten's columns as Marten would, and reads back from Marten's failures.</summary>
internal static class MartenEvents
{
    private static readonly ConcurrentDictionary<Type, string> DotnetTypeNames = new();

    /// <summary>Marten's <c>mt_dotnet_type</c> of an event: its full name and assembly name.</summary>
    public static string DotnetTypeName(Type type) =>
        DotnetTypeNames.GetOrAdd(type, static t => $"{t.FullName}, {t.Assembly.GetName().Name}");

    /// <summary>The PostgreSQL error under a Marten failure, if that is what it was.</summary>
    public static PostgresException? Postgres(Exception failure) => failure switch
    {
        PostgresException e => e,
        { InnerException: { } inner } => Postgres(inner),
        _ => null,
    };
}
