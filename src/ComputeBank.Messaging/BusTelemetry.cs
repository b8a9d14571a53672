using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;

namespace ComputeBank.Messaging;

/// <summary>
/// The bus's one ActivitySource and Meter, both named "ComputeBank.Messaging". Spans follow the OpenTelemetry messaging
/// semantic conventions (<c>messaging.operation</c>, <c>messaging.message.id</c>, <c>messaging.batch.message_count</c>):
/// <list type="bullet">
/// <item>each command gets a handling span, a child of its caller's span (the HTTP server span), from the moment it is
/// queued until it is answered;</item>
/// <item>each attempt at a group commit gets one span, linked to the handling span of every command it carries, and
/// parented by the first of them so that a lone command reads as one tree down to the store's append span.</item>
/// </list>
/// Tracing lives here and at the group-commit boundary only; handlers know nothing of it.
/// </summary>
internal static class BusTelemetry
{
    public const string Name = "ComputeBank.Messaging";
    public const string MessagingSystem = "computebank";
    public const string CommandTypeTag = "computebank.command.type";
    public const string ResultTag = "computebank.command.result";
    public const string AttemptTag = "computebank.bus.attempt";

    public static readonly ActivitySource Source = new(Name);
    public static readonly Meter Meter = new(Name);

    public static readonly Counter<long> Handled = Meter.CreateCounter<long>(
        "computebank.bus.commands.handled", "{command}", "Commands answered, by command type and result (accepted, rejected, replayed).");

    public static readonly Counter<long> Rejected = Meter.CreateCounter<long>(
        "computebank.bus.commands.rejected", "{command}", "Commands refused, by command type and problem code (error.type).");

    public static readonly Histogram<double> Duration = Meter.CreateHistogram(
        "computebank.bus.command.duration", "s", "Time from queueing a command to answering it, by command type and result.",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] });

    public static readonly Counter<long> Retries = Meter.CreateCounter<long>(
        "computebank.bus.retries", "{retry}", "Group commits retried after a concurrency conflict or a lost connection, by error.type.");

    public static readonly Histogram<int> BatchSize = Meter.CreateHistogram(
        "computebank.bus.batch.size", "{command}", "Commands decided and committed in one group-commit transaction.",
        advice: new InstrumentAdvice<int> { HistogramBucketBoundaries = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000] });

    /// <summary>
    /// Starts a handling span per command, each a child of the caller's current span (they do not become current, so
    /// they stay siblings), and writes the trace into the envelopes that do not carry a correlation yet: correlation =
    /// trace id, causation = the span that sent the command.
    /// </summary>
    public static (IReadOnlyList<CommandEnvelope> Commands, Activity?[] Spans) StartHandling(IReadOnlyList<CommandEnvelope> commands)
    {
        var caller = Activity.Current;
        var spans = new Activity?[commands.Count];
        if (!Source.HasListeners())
        {
            return (commands, spans);
        }

        var enriched = new CommandEnvelope[commands.Count];
        try
        {
            for (var i = 0; i < commands.Count; i++)
            {
                var envelope = commands[i];
                var span = Source.StartActivity("process " + envelope.CommandType, ActivityKind.Consumer, caller?.Context ?? default);
                Activity.Current = caller;
                spans[i] = span;
                if (span is not null)
                {
                    span.SetTag("messaging.system", MessagingSystem);
                    span.SetTag("messaging.destination.name", "commands");
                    span.SetTag("messaging.operation", "process");
                    span.SetTag("messaging.operation.type", "process");
                    span.SetTag("messaging.message.id", envelope.OperationId);
                    span.SetTag(CommandTypeTag, envelope.CommandType);
                    envelope = envelope with
                    {
                        CorrelationId = envelope.CorrelationId ?? span.TraceId.ToHexString(),
                        CausationId = envelope.CausationId ?? (caller?.SpanId ?? span.SpanId).ToHexString(),
                    };
                }

                enriched[i] = envelope;
            }
        }
        finally
        {
            Activity.Current = caller;
        }

        return (enriched, spans);
    }

    /// <summary>One attempt at a group commit, traced and measured; the spans below it (the store's append) nest in it.</summary>
    public static async Task<CommandReply[][]> TraceGroupCommitAsync(IReadOnlyList<WorkUnit> batch, int attempt, Func<Task<CommandReply[][]>> execute)
    {
        var size = 0;
        foreach (var unit in batch)
        {
            size += unit.Commands.Count;
        }

        foreach (var unit in batch)
        {
            unit.Attempts = attempt;
            unit.BatchSize = size;
        }

        BatchSize.Record(size);
        using var activity = StartGroupCommit(batch, attempt, size);
        try
        {
            return await execute();
        }
        catch (Exception ex)
        {
            activity?.SetStatus(ActivityStatusCode.Error, ex.GetType().Name);
            activity?.SetTag("error.type", ex.GetType().FullName);
            throw;
        }
    }

    public static void RecordRetry(Exception exception) =>
        Retries.Add(1, new KeyValuePair<string, object?>("error.type", exception.GetType().Name));

    /// <summary>Ends the handling spans of a unit, counts its answers and logs one line per command (see <see cref="CommandLog"/>).</summary>
    public static void Complete(WorkUnit unit, CommandReply[] replies, ILogger commandLog)
    {
        var seconds = Stopwatch.GetElapsedTime(unit.QueuedAt).TotalSeconds;
        var log = commandLog.IsEnabled(LogLevel.Information);
        var milliseconds = Math.Round(seconds * 1000, 1);
        var current = Activity.Current;
        for (var i = 0; i < unit.Commands.Count && i < replies.Length; i++)
        {
            var reply = replies[i];
            var type = unit.Commands[i].CommandType;
            var result = reply.Replayed ? "replayed" : reply.Succeeded ? "accepted" : "rejected";
            // Only a refusal has a problem code; a success's body is never parsed for it.
            var code = reply.Succeeded ? null : CodeOf(reply);
            var typeTag = new KeyValuePair<string, object?>(CommandTypeTag, type);
            var resultTag = new KeyValuePair<string, object?>(ResultTag, result);
            Handled.Add(1, typeTag, resultTag);
            Duration.Record(seconds, typeTag, resultTag);
            if (!reply.Succeeded)
            {
                Rejected.Add(1, typeTag, new KeyValuePair<string, object?>("error.type", code ?? reply.Status.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            }

            if (log)
            {
                var operationId = unit.Commands[i].OperationId;
                if (reply.Succeeded)
                {
                    CommandLog.Answered(commandLog, operationId, type, reply.Replayed ? CommandLog.Replayed : CommandLog.Succeeded, milliseconds);
                }
                else if (reply.Status < 500)
                {
                    CommandLog.Rejected(commandLog, operationId, type, code ?? "-", milliseconds);
                }
                else
                {
                    CommandLog.Failed(commandLog, operationId, type, code ?? "-", reply.Status, milliseconds);
                }
            }

            if (unit.Spans[i] is { } span)
            {
                span.SetTag(AttemptTag, unit.Attempts);
                span.SetTag("messaging.batch.message_count", unit.BatchSize);
                span.SetTag(ResultTag, result);
                span.SetTag("computebank.command.status", reply.Status);
                if (code is not null)
                {
                    span.SetTag("error.type", code);
                }

                if (reply.Status >= 500)
                {
                    span.SetStatus(ActivityStatusCode.Error, code);
                }

                span.Stop();
            }
        }

        // Stopping a span that is not current must not change the committer's current span.
        Activity.Current = current;
    }

    private static Activity? StartGroupCommit(IReadOnlyList<WorkUnit> batch, int attempt, int size)
    {
        if (!Source.HasListeners())
        {
            return null;
        }

        var links = new List<ActivityLink>(size);
        ActivityContext parent = default;
        foreach (var unit in batch)
        {
            for (var i = 0; i < unit.Commands.Count; i++)
            {
                if (unit.Spans[i] is { } span)
                {
                    parent = parent == default ? span.Context : parent;
                    links.Add(new ActivityLink(span.Context, new ActivityTagsCollection { ["messaging.message.id"] = unit.Commands[i].OperationId }));
                }
            }
        }

        var activity = Source.StartActivity("group commit", ActivityKind.Internal, parent, links: links);
        activity?.SetTag("messaging.system", MessagingSystem);
        activity?.SetTag("messaging.operation", "process");
        activity?.SetTag("messaging.operation.type", "process");
        activity?.SetTag("messaging.batch.message_count", size);
        activity?.SetTag("computebank.bus.units", batch.Count);
        activity?.SetTag(AttemptTag, attempt);
        return activity;
    }

    private static string? CodeOf(CommandReply reply) =>
        reply.Body.TryGetPropertyValue("code", out var node) && node is JsonValue value && value.TryGetValue<string>(out var code) ? code : null;
}
