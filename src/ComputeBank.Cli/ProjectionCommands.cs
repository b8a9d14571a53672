using System.CommandLine;
using System.Globalization;
using ComputeBank.Api.Auditing;
using ComputeBank.EventStore;

namespace ComputeBank.Cli;

/// <summary><c>projections rebuild [name]</c> (all when no name) with a progress display, and <c>projections status</c>.</summary>
public static class ProjectionCommands
{
    public static Command Create(CliOptions options)
    {
        var name = new Argument<string?>("name")
        {
            Description = $"Read model to rebuild: {string.Join(", ", ReadModels.All.Keys)} (default: all).",
            Arity = ArgumentArity.ZeroOrOne,
        };
        name.AcceptOnlyFromAmong([.. ReadModels.All.Keys]);
        var rebuild = new Command("rebuild", "Rebuild read models from events while the service keeps serving (blue/green or version-guarded in place).") { name };
        rebuild.SetAction(async (parsed, ct) =>
        {
            await using var context = options.Open(parsed);
            var names = parsed.GetValue(name) is { } one ? new[] { one } : [.. ReadModels.All.Keys];
            var display = new ProgressDisplay(context.Error);
            var result = await new ReadModelRebuilder(context.Store, context.Catalogue).RebuildAsync(names, display, ct);
            display.Done();
            var rate = result.Elapsed.TotalSeconds > 0 ? result.EventsReplayed / result.Elapsed.TotalSeconds : 0;
            await context.Output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"rebuilt {string.Join(", ", result.ReadModels)}: {result.EventsReplayed:N0} events up to sequence {result.LastSequence} in {result.Elapsed.TotalSeconds:F1} s " +
                $"({rate:N0} events/s); {result.StreamsWritten:N0} streams written, {result.StreamsSkipped:N0} moved on meanwhile (kept by their own commit)"));
            return CliApp.Ok;
        });

        var status = new Command("status", "Show every read model's checkpoint and lag behind the event log.");
        status.SetAction(async (parsed, ct) =>
        {
            await using var context = options.Open(parsed);
            var rows = await new ProjectionStatusReader(context.Store).ReadAsync(ct);
            await context.Output.WriteLineAsync($"{"name",-16} {"kind",-7} {"checkpoint",12} {"head",12} {"lag",10}  detail");
            foreach (var r in rows)
            {
                await context.Output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"{r.Name,-16} {r.Kind,-7} {r.Checkpoint,12} {r.Head,12} {r.Lag,10}  {r.Detail}"));
            }

            return CliApp.Ok;
        });

        return new Command("projections", "Read models: rebuild and status.") { rebuild, status };
    }

    /// <summary>One line rewritten in place (to the error stream, so stdout carries only the result).</summary>
    private sealed class ProgressDisplay(TextWriter writer) : IProgress<RebuildProgress>
    {
        private readonly object _gate = new();

        public void Report(RebuildProgress value)
        {
            var percent = value.TargetSequence == 0 ? 100 : Math.Min(100, 100.0 * value.LastSequence / value.TargetSequence);
            lock (_gate)
            {
                writer.Write(string.Create(CultureInfo.InvariantCulture,
                    $"\r{value.Projection}: {value.EventsProcessed:N0} events, sequence {value.LastSequence}/{value.TargetSequence} ({percent:F0}%)   "));
            }
        }

        public void Done()
        {
            lock (_gate)
            {
                writer.WriteLine();
            }
        }
    }
}
