using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using ComputeBank.Api.Auditing;
using ComputeBank.Api.Ledger;
using ComputeBank.Domain;
using ComputeBank.Domain.Accounts;

namespace ComputeBank.Cli;

/// <summary>
/// <c>export --account ID | --all [--format ndjson|csv] [--output FILE]</c>: events in sequence order with the running
/// balance (posted, pending, available) of every bucket each event touched on its account, replayed from one
/// consistent snapshot. NDJSON: one object per event; CSV: the ledger's journal format (<see cref="LedgerCsv"/>,
/// docs/export-csv.md), the same rows samples/auditor writes from the event feed.
/// </summary>
public static class ExportCommand
{

    public static Command Create(CliOptions options)
    {
        var account = new Option<string?>("--account") { Description = "Export one account's history." };
        var all = new Option<bool>("--all") { Description = "Export the whole ledger (every stream)." };
        var format = new Option<string>("--format") { Description = "ndjson or csv.", DefaultValueFactory = _ => "ndjson" };
        format.AcceptOnlyFromAmong("ndjson", "csv");
        var output = new Option<FileInfo?>("--output") { Description = "Write to this file instead of standard output." };
        var command = new Command("export", "Export events with running balances as NDJSON or CSV.") { account, all, format, output };
        command.Validators.Add(result =>
        {
            if ((result.GetValue(account) is null) == !result.GetValue(all))
            {
                result.AddError("give exactly one of --account <id> or --all");
            }
        });
        command.SetAction(async (parsed, ct) =>
        {
            string? streamId = null;
            if (parsed.GetValue(account) is { } id)
            {
                if (!AccountId.TryParse(id, out var accountId, out var error))
                {
                    throw new ArgumentException($"--account: {error}");
                }

                streamId = StreamIds.Account(accountId);
            }

            await using var context = options.Open(parsed);
            var file = parsed.GetValue(output);
            await using var stream = file is null ? null : new StreamWriter(file.FullName, append: false, new UTF8Encoding(false));
            var writer = (TextWriter?)stream ?? context.Output;
            var count = await ExportAsync(context, streamId, parsed.GetValue(format) == "csv", writer, ct);
            if (streamId is not null && count == 0)
            {
                throw new ArgumentException($"no account '{parsed.GetValue(account)}'");
            }

            await context.Error.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"exported {count:N0} events"));
            return CliApp.Ok;
        });
        return command;
    }

    public static async Task<long> ExportAsync(CliContext context, string? streamId, bool csv, TextWriter writer, CancellationToken ct)
    {
        var states = new Dictionary<string, object?>(StringComparer.Ordinal);
        long count = 0;
        if (csv)
        {
            await LedgerCsv.WriteLineAsync(writer, LedgerCsv.Header, ct);
        }

        await using var scan = await EventScan.OpenAsync(context.Store.DataSource, context.Store.Schema, ct);
        await foreach (var e in scan.EventsAsync(0, ct, streamId))
        {
            count++;
            var data = e.Data ?? throw new InvalidOperationException($"event {e.Sequence} ({e.StreamId} v{e.Version}) cannot be read: {e.Error}");
            var state = states[e.StreamId] = Domain.Ledger.Evolve(e.StreamId, states.GetValueOrDefault(e.StreamId), data);
            var time = OperationResults.Timestamp(e.Timestamp);
            if (csv)
            {
                var json = JsonNode.Parse(DomainJson.SerializeEvent(data))!;
                foreach (var row in LedgerCsv.Rows(e.Sequence, time, e.StreamId, e.Version, e.TypeName, json, e.User))
                {
                    await LedgerCsv.WriteLineAsync(writer, row, ct);
                }
            }
            else
            {
                var balances = state is AccountState account && data is AccountEvent accountEvent
                    ? AccountEvolution.BucketsOf(accountEvent, account.AccountId).Order()
                        .Select(b => OperationResults.Bucket(b, account.Balance(b).Posted, account.Balance(b).Pending, account.Available(b))).ToList()
                    : [];
                var line = new JsonObject
                {
                    ["sequence"] = e.Sequence,
                    ["time"] = time,
                    ["streamId"] = e.StreamId,
                    ["version"] = e.Version,
                    ["type"] = e.TypeName,
                    ["data"] = JsonNode.Parse(DomainJson.SerializeEvent(data)),
                    ["balances"] = new JsonArray([.. balances.Select(b => (JsonNode)ComputeBank.Api.Contracts.ContractJson.ToNode(b))]),
                };
                await writer.WriteLineAsync(line.ToJsonString(Compact));
            }
        }

        await writer.FlushAsync(ct);
        return count;
    }

    private static readonly JsonSerializerOptions Compact = new() { WriteIndented = false };
}
