using System.Globalization;
using ComputeBank.Api.Contracts;
using ComputeBank.Domain;
using ComputeBank.Domain.Accounts;
using ComputeBank.Messaging;

namespace ComputeBank.Api.Ledger;

/// <summary>
/// The JSON of an operation result (docs/api.md): the operation id, every touched account with its new stream version and
/// the balance of every touched bucket, and the global sequence of the last event written.
/// </summary>
public static class OperationResults
{
    public static byte[] Default(LedgerCommand command, OperationOutcome outcome, CommittedOperation committed) =>
        ContractJson.ToUtf8(Of(outcome, committed));

    public static OperationResult Of(OperationOutcome outcome, CommittedOperation committed) => new()
    {
        OperationId = outcome.OperationId.Value,
        Accounts = [.. outcome.Accounts.Select(a => Account(a, committed))],
        LastSequence = committed.LastSequence,
        CommittedAt = Timestamp(committed.CommittedAt),
        HoursDebited = outcome.PeriodTransfer?.HoursDebited.ToString(),
        HoursCredited = outcome.PeriodTransfer?.HoursCredited.ToString(),
        Rate = outcome.PeriodTransfer?.Rate.ToString(),
        Hold = outcome.Hold is { } hold ? Hold(hold) : null,
    };

    public static HoldView Hold(HoldOutcome hold) => new()
    {
        HoldId = hold.HoldId.Value,
        Status = Lower(hold.Status.ToString()),
        Hours = hold.Hours.ToString(),
        CapturedHours = hold.CapturedHours.ToString(),
        ExpiresAt = Timestamp(hold.ExpiresAt),
    };

    public static BalanceView Bucket(Bucket bucket, Hours posted, Hours pending, Hours available) => new()
    {
        ResourceClass = bucket.ResourceClass.Value,
        Region = bucket.Region.Value,
        Period = bucket.Period.ToString(),
        Posted = posted.ToString(),
        Pending = pending.ToString(),
        Available = available.ToString(),
    };

    public static string Timestamp(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);

    public static string Lower(string value) => value.ToLowerInvariant();

    private static TouchedAccount Account(AccountOutcome account, CommittedOperation committed) => new()
    {
        AccountId = account.AccountId.Value,
        Version = committed.StreamVersions.GetValueOrDefault(StreamIds.Account(account.AccountId)),
        Status = Lower(account.Status.ToString()),
        Balances = [.. account.Buckets.Select(b => Bucket(b.Bucket, b.Posted, b.Pending, b.Available))],
    };
}

/// <summary>The JSON of an account (docs/api.md): id, owner, kind, status, version, credit limits and balances per bucket.</summary>
public static class AccountViews
{
    public static AccountView Of(AccountState account, long version) => new()
    {
        AccountId = account.AccountId.Value,
        OwnerId = account.OwnerId,
        Kind = OperationResults.Lower(account.Kind.ToString()),
        DisplayName = account.DisplayName,
        Status = OperationResults.Lower(account.Status.ToString()),
        Version = version,
        CreditLimits = account.CreditLimits.ToDictionary(l => l.Key.Value, l => l.Value.ToString(), StringComparer.Ordinal),
        Balances = [.. account.Balances.Select(b => OperationResults.Bucket(b.Key, b.Value.Posted, b.Value.Pending, account.Available(b.Key)))],
    };
}
