using System.Collections.Concurrent;
using System.Globalization;
using System.Reflection;
using System.Text.RegularExpressions;
using JasperFx.Events;
using Npgsql;

namespace ComputeBank.EventStore;

/// <summary>What the store hands Marten and what it reads back from Marten's failures.</summary>
internal static partial class MartenEvents
{
    private static readonly ConcurrentDictionary<Type, Func<object, IEvent>> Wrappers = new();
    private static readonly MethodInfo WrapOfT = typeof(MartenEvents).GetMethod(nameof(WrapTyped), BindingFlags.NonPublic | BindingFlags.Static)!;

    /// <summary>The event as Marten's <see cref="Event{T}"/> of its own type (so Marten maps its registered name), with
    /// its metadata in Marten's columns and the session's timestamp.</summary>
    public static IEvent Wrap(object data, EventMetadata metadata, DateTimeOffset timestamp)
    {
        var e = Wrappers.GetOrAdd(data.GetType(), static type => WrapOfT.MakeGenericMethod(type).CreateDelegate<Func<object, IEvent>>())(data);
        e.Timestamp = timestamp;
        e.CorrelationId = metadata.CorrelationId;
        e.CausationId = metadata.CausationId;
        e.UserName = metadata.User;
        if (metadata.Headers is { } headers)
        {
            e.Headers = headers.ToDictionary(h => h.Key, h => (object)h.Value, StringComparer.Ordinal);
        }

        return e;
    }

    /// <summary>The stream and versions of an append Marten refused because the stream was not at the expected
    /// version (or, starting it, already existed); null for any other failure.</summary>
    public static (string StreamId, long Expected, long Actual)? Conflict(Exception failure)
    {
        switch (failure)
        {
            case EventStreamUnexpectedMaxEventIdException e when e.Id is not null:
                var versions = VersionsInMessage().Match(e.Message);
                return versions.Success
                    ? (e.Id.ToString()!, Parse(versions.Groups[1].Value), Parse(versions.Groups[2].Value))
                    : (e.Id.ToString()!, -1, -1);
            case Marten.Exceptions.ExistingStreamIdCollisionException e when e.Id is not null:
                return (e.Id.ToString()!, 0, -1);
            case JasperFx.Events.ExistingStreamIdCollisionException e when e.Id is not null:
                return (e.Id.ToString()!, 0, -1);
            default:
                return failure.InnerException is { } inner ? Conflict(inner) : null;
        }
    }

    /// <summary>The PostgreSQL error under a Marten failure, if that is what it was.</summary>
    public static PostgresException? Postgres(Exception failure) => failure switch
    {
        PostgresException e => e,
        { InnerException: { } inner } => Postgres(inner),
        _ => null,
    };

    private static long Parse(string text) => long.Parse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);

    private static IEvent WrapTyped<T>(object data)
        where T : notnull => new Event<T>((T)data);

    // "Unexpected starting version number for event stream 'account-1', expected 4 but was 1": the versions are only in the text.
    [GeneratedRegex(@"expected (-?\d+) but was (-?\d+)", RegexOptions.CultureInvariant)]
    private static partial Regex VersionsInMessage();
}
