using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace ComputeBank.Api.Auditing;

/// <summary>
/// The ledger's one CSV format (docs/export-csv.md), written by <c>export --format csv</c> and
/// <c>GET /api/v1/events/export.csv</c> from the database and by samples/auditor from the <c>/api/v1/events</c> feed
/// (this file is linked into that sample, so all build rows with the same code from the same event JSON). A journal: one row per posting of an event (the account whose posted
/// balance it changes, signed hours), one row for an event that posts nothing. Free-text cells that a spreadsheet would
/// take for a formula get a leading single quote; numeric cells are written as plain numbers.
/// It only needs System.Text.Json, so that the sample can compile it without the ledger's assemblies.
/// </summary>
public static class LedgerCsv
{
    /// <summary>The columns, in order.</summary>
    public static readonly string[] Columns =
    [
        "sequence", "time", "stream_id", "version", "type", "operation_id", "hold_id", "account_id",
        "resource_class", "region", "period", "hours", "held_hours", "counterparty_account_id", "rate",
        "settlement_amount", "settlement_currency", "settlement_rail", "settlement_reference",
        "reference", "reason", "kind", "owner_id", "display_name", "credit_limit", "expires_at", "user",
    ];

    /// <summary>The columns that hold numbers (written unquoted, never given the formula guard).</summary>
    private static readonly HashSet<string> Numeric =
        new(["sequence", "version", "hours", "held_hours", "rate", "settlement_amount", "credit_limit"], StringComparer.Ordinal);

    private static readonly bool[] IsNumeric = [.. Columns.Select(Numeric.Contains)];

    /// <summary>The header line (no line break).</summary>
    public static string Header => string.Join(",", Columns);

    /// <summary>
    /// The rows (no line breaks) of one event, given as the feed shows it: its position, time (as the API writes it),
    /// stream, version, type name, data (the event's JSON) and the user of its metadata.
    /// </summary>
    public static IEnumerable<string> Rows(long sequence, string time, string streamId, long version, string type, JsonNode data, string? user)
    {
        var postings = data["postings"] as JsonArray ?? [];
        var settlement = data["settlement"] as JsonObject;
        var accountId = Text(data["accountId"]);
        var bucket = data["bucket"] as JsonObject;
        string? heldChange = type switch
        {
            "V1.CreditsHeld" => Text(data["hours"]),
            "V1.HeldCreditsReleased" => Negate(Text(data["hours"])),
            "V1.HeldCreditsCaptured" => Negate(Text(data["heldHours"])),
            "V1.HoursListed" => Text(data["hours"]),
            "V1.ListedHoursReleased" or "V1.MarketSaleSettled" => Negate(Text(data["hours"])),
            _ => null,
        };

        // Which row carries the change of pending: the posting of the hold's own account and bucket, else the event's only row.
        var heldRow = heldChange is null ? -1
            : Math.Max(0, IndexOf(postings, p => Text(p["accountId"]) == accountId && SameBucket(p["bucket"], bucket)));
        var rows = postings.Count == 0 ? 1 : postings.Count;
        for (var i = 0; i < rows; i++)
        {
            var posting = postings.Count == 0 ? null : postings[i];
            var rowBucket = posting is null ? bucket : posting["bucket"];
            string?[] cells =
            [
                sequence.ToString(CultureInfo.InvariantCulture),
                time,
                streamId,
                version.ToString(CultureInfo.InvariantCulture),
                type,
                Text(data["operationId"]) ?? Text(data["holdId"]),
                Text(data["holdId"]),
                posting is null ? accountId : Text(posting["accountId"]),
                Text(rowBucket?["resourceClass"]) ?? Text(data["resourceClass"]),
                Text(rowBucket?["region"]),
                Text(rowBucket?["period"]) ?? Text(data["period"]),
                posting is null ? null : Text(posting["amount"]),
                i == heldRow ? heldChange : null,
                Text(data["toAccountId"]) ?? Text(data["fromAccountId"]) ?? Text(data["beneficiaryAccountId"]),
                Text(data["rate"]),
                Text(settlement?["amount"]),
                Text(settlement?["currency"]),
                Text(settlement?["rail"]),
                Text(settlement?["paymentReference"]),
                Text(data["reference"]) ?? Text(data["jobReference"]),
                Text(data["reason"]) ?? Text(data["policy"]) + (Text(data["rolloverTo"]) is { } to ? " " + to : ""),
                Text(data["kind"]),
                Text(data["ownerId"]),
                Text(data["displayName"]),
                Text(data["limit"]),
                Text(data["expiresAt"]),
                user,
            ];
            yield return string.Join(",", cells.Select((cell, column) => Cell(cell, IsNumeric[column])));
        }
    }

    /// <summary>
    /// One cell. Text that starts with <c>= + - @</c>, a tab or a carriage return gets a leading single quote, so that a
    /// spreadsheet shows it instead of evaluating it (OWASP's CSV injection advice); a numeric column keeps a plain
    /// number as it is (a negative amount stays a number) and is treated as text otherwise. Then RFC 4180 quoting.
    /// </summary>
    public static string Cell(string? value, bool numeric)
    {
        if (string.IsNullOrEmpty(value))
        {
            return "";
        }

        if (!(numeric && IsPlainNumber(value)) && value[0] is '=' or '+' or '-' or '@' or '\t' or '\r')
        {
            value = "'" + value;
        }

        return value.AsSpan().IndexOfAny(",\"\r\n") >= 0 ? "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : value;
    }

    private static bool IsPlainNumber(string value)
    {
        var digits = value.StartsWith('-') ? value.AsSpan(1) : value.AsSpan();
        var point = digits.IndexOf('.');
        var whole = point < 0 ? digits : digits[..point];
        var fraction = point < 0 ? [] : digits[(point + 1)..];
        return whole.Length > 0 && !whole.ContainsAnyExcept("0123456789") && (point < 0 || (fraction.Length > 0 && !fraction.ContainsAnyExcept("0123456789")));
    }

    /// <summary>A JSON string as it is, a number as its JSON text (1200.00 stays 1200.00); null for anything else.</summary>
    private static string? Text(JsonNode? node) => node is JsonValue value
        ? value.GetValueKind() switch
        {
            JsonValueKind.String => value.GetValue<string>(),
            JsonValueKind.Number => value.ToJsonString(),
            _ => null,
        }
        : null;

    private static string? Negate(string? hours) =>
        hours is null || hours.Trim('0', '.').Length == 0 ? hours : hours.StartsWith('-') ? hours[1..] : "-" + hours;

    private static bool SameBucket(JsonNode? a, JsonNode? b) =>
        a is not null && b is not null && Text(a["resourceClass"]) == Text(b["resourceClass"]) && Text(a["region"]) == Text(b["region"]) && Text(a["period"]) == Text(b["period"]);

    private static int IndexOf(JsonArray items, Func<JsonNode, bool> match)
    {
        for (var i = 0; i < items.Count; i++)
        {
            if (items[i] is { } item && match(item))
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>Writes one line with the "\n" line end the format uses whatever the platform.</summary>
    public static Task WriteLineAsync(TextWriter writer, string line, CancellationToken ct) =>
        writer.WriteAsync((line + "\n").AsMemory(), ct);
}
