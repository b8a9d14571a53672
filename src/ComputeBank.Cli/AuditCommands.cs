using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using ComputeBank.Api.Auditing;
using ComputeBank.Api.Features.VerifyingLedger;

namespace ComputeBank.Cli;

/// <summary><c>audit verify [--json]</c>: the same check as GET /api/v1/audit/verify; exit 0 when clean, 1 otherwise.</summary>
public static class AuditCommands
{
    public static Command Create(CliOptions options)
    {
        var json = new Option<bool>("--json") { Description = "Print the report as JSON (the HTTP endpoint's shape)." };
        var verify = new Command("verify", "Replay every event and check double entry (1), read models against the fold (3) and hash chains (5).") { json };
        verify.SetAction(async (parsed, ct) =>
        {
            await using var context = options.Open(parsed);
            var auditor = new LedgerAuditor(context.Store, context.Catalogue);
            var report = await auditor.VerifyAsync(new SyncProgress<long>(n => context.Error.Write(string.Create(CultureInfo.InvariantCulture, $"\rreplayed {n:N0} events"))), ct);
            await context.Error.WriteLineAsync();
            if (parsed.GetValue(json))
            {
                await context.Output.WriteLineAsync(JsonSerializer.Serialize(report, VerifyLedgerEndpoint.ReportJson));
            }
            else
            {
                await WriteReportAsync(context.Output, report);
            }

            return report.Ok ? CliApp.Ok : CliApp.Discrepancies;
        });
        return new Command("audit", "Auditors' checks of the books.") { verify };
    }

    public static async Task WriteReportAsync(TextWriter output, AuditReport report)
    {
        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"{(report.Ok ? "OK" : "DISCREPANCIES")}: {report.EventsChecked:N0} events in {report.StreamsChecked:N0} streams replayed; {report.DiscrepancyCount} discrepancies"));
        foreach (var d in report.Discrepancies)
        {
            var where = string.Join(" ", new[] { d.AccountId is null ? null : $"account={d.AccountId}", d.StreamId is null ? null : $"stream={d.StreamId}",
                d.Bucket is null ? null : $"bucket={d.Bucket}", d.ResourceClass is null ? null : $"class={d.ResourceClass}", d.Field is null ? null : $"field={d.Field}" }
                .Where(s => s is not null));
            var values = d.Expected is null && d.Found is null ? "" : $" expected={d.Expected ?? "-"} found={d.Found ?? "-"}";
            await output.WriteLineAsync($"  [invariant {d.Invariant} {d.Check}] {where}{values}");
            await output.WriteLineAsync($"      {d.Detail}");
        }

        if (report.DiscrepancyCount > report.Discrepancies.Count)
        {
            await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"  ... and {report.DiscrepancyCount - report.Discrepancies.Count} more"));
        }
    }
}
