using System.Text;
using System.Text.Json.Nodes;
using ComputeBank.Api.Auditing;
using ComputeBank.Api.Http;
using ComputeBank.Api.Ledger;
using ComputeBank.Domain;
using ComputeBank.EventStore;

namespace ComputeBank.Api.Features.VerifyingLedger;

/// <summary>
/// GET /api/v1/events/export.csv: the whole ledger in its CSV format (docs/export-csv.md), the rows
/// <c>deploy/local/cli export --all --format csv</c> writes, from one consistent snapshot of the events, streamed as they
/// are read (memory does not grow with the ledger). For auditors and operators; the console's download.
/// </summary>
public static class ExportCsvEndpoint
{
    public static void Map(IEndpointRouteBuilder api) =>
        api.MapGet("/events/export.csv", ExportAsync)
            .WithName("ExportLedgerCsv")
            .RequireAuthorization(Security.Policies.ReadAll)
            .WithTags(ApiDocs.QueriesTag)
            .WithSummary("Export the ledger as CSV")
            .WithDescription("Every event of the ledger as CSV rows (one per posting, or one for an event that posts nothing), in sequence order, from one consistent snapshot.")
            .Produces<string>(StatusCodes.Status200OK, "text/csv");

    private static async Task ExportAsync(HttpContext http, MartenEventStore store, CancellationToken ct)
    {
        http.Response.ContentType = "text/csv; charset=utf-8";
        http.Response.Headers.ContentDisposition = "attachment; filename=\"computebank-ledger.csv\"";
        await using var writer = new StreamWriter(http.Response.Body, new UTF8Encoding(false), bufferSize: 64 * 1024);
        await LedgerCsv.WriteLineAsync(writer, LedgerCsv.Header, ct);
        await using var scan = await EventScan.OpenAsync(store.DataSource, store.Schema, ct);
        await foreach (var e in scan.EventsAsync(0, ct))
        {
            var data = e.Data ?? throw new InvalidOperationException($"event {e.Sequence} ({e.StreamId} v{e.Version}) cannot be read: {e.Error}");
            var json = JsonNode.Parse(DomainJson.SerializeEvent(data))!;
            foreach (var row in LedgerCsv.Rows(e.Sequence, OperationResults.Timestamp(e.Timestamp), e.StreamId, e.Version, e.TypeName, json, e.User))
            {
                await LedgerCsv.WriteLineAsync(writer, row, ct);
            }
        }

        await writer.FlushAsync(ct);
    }
}
