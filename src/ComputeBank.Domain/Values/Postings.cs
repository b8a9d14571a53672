using System.Text.Json.Serialization;

namespace ComputeBank.Domain;

/// <summary>
/// One leg of a double-entry movement: <paramref name="Amount"/> (signed) is added to <paramref name="AccountId"/>'s
/// posted balance in <paramref name="Bucket"/>. Every event that moves credits lists its postings; over all events of one
/// operation the postings of each resource class sum to zero. An account's balance is the sum of its postings, and
/// the system accounts' balances are only that (they have no stream).
/// </summary>
public sealed record Posting(AccountId AccountId, Bucket Bucket, Hours Amount);

/// <summary>The payment rail a settlement was made on.</summary>
public enum SettlementRail
{
    [JsonStringEnumMemberName("e-cny")]
    ECny,
    [JsonStringEnumMemberName("bank-transfer")]
    BankTransfer,
}

/// <summary>
/// What was paid for transferred credits: <paramref name="Amount"/> CNY with at most 2 decimals. Recorded only; the
/// ledger moves no money.
/// </summary>
public sealed record Settlement(decimal Amount, string Currency, SettlementRail Rail, string PaymentReference);
