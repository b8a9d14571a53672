using System.Text.Json;
using ComputeBank.Domain;
using ComputeBank.Domain.Accounts;
using ComputeBank.Domain.Holds;
using ComputeBank.Domain.Market;

namespace ComputeBank.Api.Auditing;

/// <summary>
/// The market's invariants (docs/market.md), checked on the states replayed from the events alone, and its read models
/// against them. Reported as invariant 3 (every projection equals the fold of the events), with checks
/// <c>market_hours</c> (each offer's hours add up, and agree with its trades: invariants 1 and 5 of the market),
/// <c>market_pending</c> (a provider's pending hours = its open offers + its trades awaiting payment + its holds:
/// market invariant 2), <c>market_trades</c> (no trade settled at or after its payBy: market invariant 3) and
/// <c>market_read_models</c> (every row of <c>market_offers</c> and <c>market_trades</c> holds its stream's state).
/// </summary>
internal static class MarketAudit
{
    public const string Hours = "market_hours";
    public const string Pending = "market_pending";
    public const string Trades = "market_trades";
    public const string ReadModels = "market_read_models";

    public static void Check(IReadOnlyDictionary<string, object?> states, Action<Discrepancy> add)
    {
        var offers = states.Values.OfType<OfferState>().ToList();
        var trades = states.Values.OfType<TradeState>().ToList();
        var tradesByOffer = trades.ToLookup(t => t.OfferId);
        foreach (var offer in offers)
        {
            var streamId = StreamIds.Offer(offer.OfferId);
            var accounted = offer.HoursLeft + offer.HoursInTrades + offer.HoursSold + offer.HoursReleased;
            if (accounted != offer.HoursListed || offer.HoursLeft.IsNegative || offer.HoursInTrades.IsNegative)
            {
                add(new Discrepancy(3, Hours, $"{streamId}: listed {offer.HoursListed} but left + in trades + sold + released = {accounted}",
                    offer.ProviderAccountId.Value, streamId, BucketRef.Of(offer.Bucket), Field: "hoursListed", Expected: offer.HoursListed.ToString(), Found: accounted.ToString()));
            }

            var mine = tradesByOffer[offer.OfferId].ToList();
            Compare(add, offer, streamId, "hoursInTrades", offer.HoursInTrades, Sum(mine.Where(t => t.Status == TradeStatus.AwaitingPayment)));
            Compare(add, offer, streamId, "hoursSold", offer.HoursSold, Sum(mine.Where(t => t.Status == TradeStatus.Settled)));
        }

        foreach (var trade in trades.Where(t => t.Status == TradeStatus.Settled && t.EndedAt >= t.PayBy))
        {
            add(new Discrepancy(3, Trades, $"{StreamIds.Trade(trade.TradeId)}: settled at {trade.EndedAt:O}, at or after its payBy {trade.PayBy:O}",
                trade.BuyerAccountId.Value, StreamIds.Trade(trade.TradeId), BucketRef.Of(trade.Bucket), Field: "settledAt"));
        }

        CheckPending(states, offers, trades, add);
    }

    /// <summary>Rows of a market read model (id, state JSON) against the replayed state of their stream.</summary>
    public static void CheckRow<TState>(string streamId, string json, IReadOnlyDictionary<string, object?> states, Action<Discrepancy> add)
    {
        var expected = states.GetValueOrDefault(streamId) is { } state ? DomainJson.SerializeState(state) : null;
        string? found;
        try
        {
            found = DomainJson.SerializeState(JsonSerializer.Deserialize<TState>(json, DomainJson.Options));
        }
        catch (JsonException e)
        {
            found = "unreadable: " + e.Message;
        }

        if (!string.Equals(expected, found, StringComparison.Ordinal))
        {
            add(new Discrepancy(3, ReadModels, $"{streamId}: the read model's row differs from the fold of its events", StreamId: streamId,
                Field: "state", Expected: expected ?? "no stream", Found: found));
        }
    }

    private static void CheckPending(IReadOnlyDictionary<string, object?> states, List<OfferState> offers, List<TradeState> trades, Action<Discrepancy> add)
    {
        var expected = new Dictionary<(AccountId, Bucket), Domain.Hours>();
        void Add(AccountId account, Bucket bucket, Domain.Hours hours) => expected[(account, bucket)] = expected.GetValueOrDefault((account, bucket)) + hours;
        foreach (var offer in offers.Where(o => o.IsOnBook))
        {
            Add(offer.ProviderAccountId, offer.Bucket, offer.HoursLeft);
        }

        foreach (var trade in trades.Where(t => t.Status == TradeStatus.AwaitingPayment))
        {
            Add(trade.SellerAccountId, trade.Bucket, trade.Hours);
        }

        foreach (var hold in states.Values.OfType<HoldState>().Where(h => h.Status == HoldStatus.Pending))
        {
            Add(hold.AccountId, hold.Bucket, hold.Hours);
        }

        var sellers = offers.Select(o => o.ProviderAccountId).ToHashSet();
        foreach (var account in states.Values.OfType<AccountState>().Where(a => sellers.Contains(a.AccountId)))
        {
            foreach (var bucket in account.Balances.Keys.Union(expected.Keys.Where(k => k.Item1 == account.AccountId).Select(k => k.Item2)))
            {
                var want = expected.GetValueOrDefault((account.AccountId, bucket));
                var have = account.Balance(bucket).Pending;
                if (want != have)
                {
                    add(new Discrepancy(3, Pending, $"{account.AccountId} {bucket}: pending {have}, but open offers + trades awaiting payment + holds = {want}",
                        account.AccountId.Value, StreamIds.Account(account.AccountId), BucketRef.Of(bucket), Field: "pending", Expected: want.ToString(), Found: have.ToString()));
                }
            }
        }
    }

    private static Domain.Hours Sum(IEnumerable<TradeState> trades) => trades.Aggregate(Domain.Hours.Zero, (sum, t) => sum + t.Hours);

    private static void Compare(Action<Discrepancy> add, OfferState offer, string streamId, string field, Domain.Hours offerSays, Domain.Hours tradesSay)
    {
        if (offerSays != tradesSay)
        {
            add(new Discrepancy(3, Hours, $"{streamId}: {field} {offerSays}, but its trades hold {tradesSay}",
                offer.ProviderAccountId.Value, streamId, BucketRef.Of(offer.Bucket), Field: field, Expected: tradesSay.ToString(), Found: offerSays.ToString()));
        }
    }
}
