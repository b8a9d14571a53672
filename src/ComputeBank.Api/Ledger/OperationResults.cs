using System.Globalization;
using System.Text.Json.Nodes;
using ComputeBank.Domain;
using ComputeBank.Domain.Accounts;
using ComputeBank.Messaging;

namespace ComputeBank.Api.Ledger;

/// <summary>
/// The JSON of an operation result (API.md): the operation id, every touched account with its new stream version and
/// the balance of every touched bucket, and the global sequence of the last event written.
/// </summary>
public static class OperationResults
{
    public static JsonObject Default(LedgerCommand command, OperationOutcome outcome, CommittedOperation committed)
    {
        var result = new JsonObject
        {
            ["operationId"] = outcome.OperationId.Value,
            ["accounts"] = new JsonArray([.. outcome.Accounts.Select(a => (JsonNode)Account(a, committed))]),
            ["lastSequence"] = committed.LastSequence,
            ["committedAt"] = Timestamp(committed.CommittedAt),
        };
        if (outcome.PeriodTransfer is { } transfer)
        {
            result["hoursDebited"] = transfer.HoursDebited.ToString();
            result["hoursCredited"] = transfer.HoursCredited.ToString();
            result["rate"] = transfer.Rate.ToString();
        }

        if (outcome.Hold is { } hold)
        {
            result["hold"] = Hold(hold);
        }

        return result;
    }

    public static JsonObject Hold(HoldOutcome hold) => new()
    {
        ["holdId"] = hold.HoldId.Value,
        ["status"] = Lower(hold.Status.ToString()),
        ["hours"] = hold.Hours.ToString(),
        ["capturedHours"] = hold.CapturedHours.ToString(),
        ["expiresAt"] = Timestamp(hold.ExpiresAt),
    };

    public static JsonObject Bucket(Bucket bucket, Hours posted, Hours pending, Hours available) => new()
    {
        ["resourceClass"] = bucket.ResourceClass.Value,
        ["region"] = bucket.Region.Value,
        ["period"] = bucket.Period.ToString(),
        ["posted"] = posted.ToString(),
        ["pending"] = pending.ToString(),
        ["available"] = available.ToString(),
    };

    public static string Timestamp(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);

    public static string Lower(string value) => value.ToLowerInvariant();

    private static JsonObject Account(AccountOutcome account, CommittedOperation committed) => new()
    {
        ["accountId"] = account.AccountId.Value,
        ["version"] = committed.StreamVersions.GetValueOrDefault(StreamIds.Account(account.AccountId)),
        ["status"] = Lower(account.Status.ToString()),
        ["balances"] = new JsonArray([.. account.Buckets.Select(b => (JsonNode)Bucket(b.Bucket, b.Posted, b.Pending, b.Available))]),
    };
}

/// <summary>The JSON of an account (API.md): id, owner, kind, status, version, credit limits and balances per bucket.</summary>
public static class AccountViews
{
    public static JsonObject Of(AccountState account, long version) => new()
    {
        ["accountId"] = account.AccountId.Value,
        ["ownerId"] = account.OwnerId,
        ["kind"] = OperationResults.Lower(account.Kind.ToString()),
        ["displayName"] = account.DisplayName,
        ["status"] = OperationResults.Lower(account.Status.ToString()),
        ["version"] = version,
        ["creditLimits"] = new JsonObject([.. account.CreditLimits.Select(l => KeyValuePair.Create(l.Key.Value, (JsonNode?)l.Value.ToString()))]),
        ["balances"] = new JsonArray([.. account.Balances.Select(b =>
            (JsonNode)OperationResults.Bucket(b.Key, b.Value.Posted, b.Value.Pending, account.Available(b.Key)))]),
    };
}
