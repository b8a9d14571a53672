using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;

namespace ComputeBank.EventStore;

/// <summary>
/// The component's one ActivitySource and Meter, both named "ComputeBank.EventStore". Span and attribute names follow
/// the OpenTelemetry database semantic conventions (<c>db.system.name</c>, <c>db.operation.name</c>,
/// <c>db.namespace</c>, and the older <c>db.system</c> / <c>db.operation</c> that many backends still index on);
/// Npgsql's own instrumentation adds the per-statement spans underneath.
/// </summary>
internal static class Telemetry
{
    public const string Name = "ComputeBank.EventStore";

    /// <summary>Stream ids written by an append (a string array).</summary>
    public const string StreamIdsTag = "computebank.eventstore.stream_ids";

    /// <summary>Events written by an append or applied by a projection page.</summary>
    public const string EventCountTag = "computebank.eventstore.events";

    public static readonly ActivitySource Source = new(Name);
    public static readonly Meter Meter = new(Name);

    public static readonly Counter<long> EventsAppended =
        Meter.CreateCounter<long>("computebank.eventstore.events.appended", "{event}", "Events committed by sessions, by event type.");

    /// <summary>The stored type name of the events counted (<c>V1.Deposited</c>), on <see cref="EventsAppended"/>.</summary>
    public const string EventTypeTag = "computebank.event.type";

    public static readonly Counter<long> ConcurrencyConflicts =
        Meter.CreateCounter<long>("computebank.eventstore.conflicts", "{conflict}", "Appends rejected by an expected-version check.");

    public static readonly Counter<long> EventsProjected =
        Meter.CreateCounter<long>("computebank.eventstore.projection.events", "{event}", "Events applied by async projections.");

    public static Activity? StartDbActivity(string operation, string schema)
    {
        var activity = Source.StartActivity(operation, ActivityKind.Client);
        activity?.SetTag("db.system.name", "postgresql");
        activity?.SetTag("db.system", "postgresql");
        activity?.SetTag("db.operation.name", operation);
        activity?.SetTag("db.operation", operation);
        activity?.SetTag("db.namespace", schema);
        return activity;
    }

    /// <summary>One page of an async projection: read from the feed, applied and checkpointed in one transaction.</summary>
    public static Activity? StartProjectionPage(string projection, long afterSequence)
    {
        var activity = Source.StartActivity("project " + projection, ActivityKind.Internal);
        activity?.SetTag("computebank.projection", projection);
        activity?.SetTag("computebank.projection.after_sequence", afterSequence);
        return activity;
    }

    public static void RecordError(Activity? activity, Exception exception)
    {
        activity?.SetStatus(ActivityStatusCode.Error, exception.GetType().Name);
        activity?.SetTag("error.type", exception.GetType().FullName);
    }
}

/// <summary>Every log line of the component; event ids are kept here, in one place.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 1001, Level = LogLevel.Information, Message = "Event store schema '{Schema}' migrated from version {From} to {To}")]
    public static partial void Migrated(ILogger logger, string schema, int from, int to);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Debug, Message = "Event store schema '{Schema}' is up to date at version {Version}")]
    public static partial void UpToDate(ILogger logger, string schema, int version);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Information, Message = "Event store schema '{Schema}' converted from the layout before Marten: {Events} events in {Streams} streams")]
    public static partial void ConvertedLayoutBeforeMarten(ILogger logger, string schema, long events, long streams);

    [LoggerMessage(EventId = 1101, Level = LogLevel.Debug, Message = "Concurrency conflict on stream '{StreamId}': expected {Expected}, actual {Actual}")]
    public static partial void Conflict(ILogger logger, string streamId, long expected, long actual);

    [LoggerMessage(EventId = 1201, Level = LogLevel.Information, Message = "Sequence gap {From}..{To} skipped: no transaction that could fill it is still running")]
    public static partial void GapSkipped(ILogger logger, long from, long to);

    [LoggerMessage(EventId = 1301, Level = LogLevel.Information, Message = "Projection '{Projection}' leadership acquired on this node")]
    public static partial void LeadershipAcquired(ILogger logger, string projection);

    [LoggerMessage(EventId = 1302, Level = LogLevel.Warning, Message = "Projection '{Projection}' leadership lost")]
    public static partial void LeadershipLost(ILogger logger, string projection, Exception exception);

    [LoggerMessage(EventId = 1303, Level = LogLevel.Error, Message = "Projection '{Projection}' failed on the page after sequence {After}; retrying")]
    public static partial void ProjectionFailed(ILogger logger, string projection, long after, Exception exception);

    [LoggerMessage(EventId = 1304, Level = LogLevel.Information, Message = "Projection '{Projection}' rebuilt: {Events} events up to sequence {Sequence}")]
    public static partial void Rebuilt(ILogger logger, string projection, long events, long sequence);
}
