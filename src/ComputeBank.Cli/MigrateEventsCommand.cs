using System.CommandLine;
using System.Globalization;

namespace ComputeBank.Cli;

/// <summary><c>migrate-events</c>: converts a database of the event layout before Marten into this build's, once, in
/// place and in one transaction (see <see cref="EventStore.MartenEventStore.ConvertLayoutBeforeMartenAsync"/>).</summary>
public static class MigrateEventsCommand
{
    public static Command Create(CliOptions options)
    {
        var command = new Command(
            "migrate-events",
            "Convert a database of the event layout before Marten into Marten's tables, in place and all or nothing, keeping every " +
            "event's sequence number, hashes and metadata (once, with every node stopped; see docs/migrate-events.md). Exit 2, nothing changed, on any other layout.");
        command.SetAction(async (parsed, ct) =>
        {
            await using var context = options.Open(parsed);
            var result = await context.Store.ConvertLayoutBeforeMartenAsync(ct);
            await context.Output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"converted schema {context.Store.Schema}: {result.Events:N0} events in {result.Streams:N0} streams, {result.Snapshots:N0} snapshots, " +
                $"{result.Checkpoints:N0} projection checkpoints carried over and compared; the next event takes sequence {result.LastSequence + 1}"));
            return CliApp.Ok;
        });
        return command;
    }
}
