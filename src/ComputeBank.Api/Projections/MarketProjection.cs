using System.Text.Json;
using ComputeBank.Domain;
using ComputeBank.Domain.Market;
using ComputeBank.Messaging;
using Npgsql;
using NpgsqlTypes;

using static ComputeBank.Api.Projections.ArrayParameters;

namespace ComputeBank.Api.Projections;

/// <summary>
/// Inline projection of the market's streams (0005_market.sql): one upsert of every offer and one of every trade a
/// group commit wrote, and the statistics of the trades it settled. A trade is written once more after it settles
/// never (settled is final), so each settlement is counted exactly once, in the transaction that records it.
/// </summary>
public sealed class MarketProjection(string schema) : IStateProjection
{
    private readonly string _upsertOffers =
        $"INSERT INTO {schema}.market_offers AS o (offer_id, account_id, resource_class, region, period, status, unit_price, listed, valid_until, state, version) " +
        "SELECT o.id, o.account, o.class, o.region, o.period, o.status, o.price, o.listed, o.valid_until, o.state::jsonb, o.version " +
        "FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::numeric[], $8::bigint[], $9::timestamptz[], $10::text[], $11::bigint[]) " +
        "AS o(id, account, class, region, period, status, price, listed, valid_until, state, version) " +
        "ON CONFLICT (offer_id) DO UPDATE SET status = excluded.status, state = excluded.state, version = excluded.version";

    private readonly string _upsertTrades =
        $"INSERT INTO {schema}.market_trades AS t (trade_id, buyer_account_id, seller_account_id, status, pay_by, opened_at, state, version) " +
        "SELECT t.id, t.buyer, t.seller, t.status, t.pay_by, t.opened_at, t.state::jsonb, t.version " +
        "FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::timestamptz[], $7::text[], $8::bigint[]) " +
        "AS t(id, buyer, seller, status, pay_by, opened_at, state, version) " +
        "ON CONFLICT (trade_id) DO UPDATE SET status = excluded.status, state = excluded.state, version = excluded.version";

    // Trades settled in this commit, summed per bucket first (a commit may settle several in one region); the last price
    // is the one settled last (ties: the higher trade id, so the answer does not depend on the order of the batch).
    private readonly string _addSettled =
        $"INSERT INTO {schema}.market_stats AS s (resource_class, period, region, last_price, last_settled_at, volume, amount, trade_count) " +
        "SELECT class, period, region, (array_agg(price ORDER BY settled_at DESC, id DESC))[1], max(settled_at), sum(hours), sum(amount), count(*) " +
        "FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::numeric[], $6::timestamptz[], $7::bigint[], $8::numeric[]) " +
        "AS t(id, class, period, region, price, settled_at, hours, amount) GROUP BY class, period, region " +
        "ON CONFLICT (resource_class, period, region) DO UPDATE SET " +
        "last_price = CASE WHEN excluded.last_settled_at >= s.last_settled_at THEN excluded.last_price ELSE s.last_price END, " +
        "last_settled_at = greatest(s.last_settled_at, excluded.last_settled_at), volume = s.volume + excluded.volume, " +
        "amount = s.amount + excluded.amount, trade_count = s.trade_count + excluded.trade_count";

    public IEnumerable<NpgsqlBatchCommand> Project(IReadOnlyList<(string StreamId, long Version, object State)> states)
    {
        var offers = states.Where(s => s.State is OfferState).Select(s => (Offer: (OfferState)s.State, s.Version)).ToList();
        if (offers.Count > 0)
        {
            var command = new NpgsqlBatchCommand(_upsertOffers);
            command.Parameters.Add(Text(offers.Select(o => o.Offer.OfferId.Value)));
            command.Parameters.Add(Text(offers.Select(o => o.Offer.ProviderAccountId.Value)));
            command.Parameters.Add(Text(offers.Select(o => o.Offer.Bucket.ResourceClass.Value)));
            command.Parameters.Add(Text(offers.Select(o => o.Offer.Bucket.Region.Value)));
            command.Parameters.Add(Text(offers.Select(o => o.Offer.Bucket.Period.ToString())));
            command.Parameters.Add(Text(offers.Select(o => StatusOf(o.Offer))));
            command.Parameters.Add(Numeric(offers.Select(o => o.Offer.UnitPrice)));
            command.Parameters.Add(Bigint(offers.Select(o => o.Offer.Listed)));
            command.Parameters.Add(Timestamps(offers.Select(o => o.Offer.ValidUntil)));
            command.Parameters.Add(Text(offers.Select(o => JsonSerializer.Serialize(o.Offer, DomainJson.Options))));
            command.Parameters.Add(Bigint(offers.Select(o => o.Version)));
            yield return command;
        }

        var trades = states.Where(s => s.State is TradeState).Select(s => (Trade: (TradeState)s.State, s.Version)).ToList();
        if (trades.Count == 0)
        {
            yield break;
        }

        var upsert = new NpgsqlBatchCommand(_upsertTrades);
        upsert.Parameters.Add(Text(trades.Select(t => t.Trade.TradeId.Value)));
        upsert.Parameters.Add(Text(trades.Select(t => t.Trade.BuyerAccountId.Value)));
        upsert.Parameters.Add(Text(trades.Select(t => t.Trade.SellerAccountId.Value)));
        upsert.Parameters.Add(Text(trades.Select(t => StatusOf(t.Trade.Status))));
        upsert.Parameters.Add(Timestamps(trades.Select(t => t.Trade.PayBy)));
        upsert.Parameters.Add(Timestamps(trades.Select(t => t.Trade.OpenedAt)));
        upsert.Parameters.Add(Text(trades.Select(t => JsonSerializer.Serialize(t.Trade, DomainJson.Options))));
        upsert.Parameters.Add(Bigint(trades.Select(t => t.Version)));
        yield return upsert;

        var settled = trades.Select(t => t.Trade).Where(t => t.Status == TradeStatus.Settled).ToList();
        if (settled.Count > 0)
        {
            var stats = new NpgsqlBatchCommand(_addSettled);
            stats.Parameters.Add(Text(settled.Select(t => t.TradeId.Value)));
            stats.Parameters.Add(Text(settled.Select(t => t.Bucket.ResourceClass.Value)));
            stats.Parameters.Add(Text(settled.Select(t => t.Bucket.Period.ToString())));
            stats.Parameters.Add(Text(settled.Select(t => t.Bucket.Region.Value)));
            stats.Parameters.Add(Numeric(settled.Select(t => t.UnitPrice)));
            stats.Parameters.Add(Timestamps(settled.Select(t => t.EndedAt ?? t.OpenedAt)));
            stats.Parameters.Add(Bigint(settled.Select(t => t.Hours.MilliHours)));
            stats.Parameters.Add(Numeric(settled.Select(t => t.Amount)));
            yield return stats;
        }
    }

    /// <summary>The stored status of an offer: what its events say (open, filled, withdrawn, expired).</summary>
    public static string StatusOf(OfferState offer) => offer.Status.ToString().ToLowerInvariant();

    /// <summary>The stored status of a trade: what its events say (awaiting_payment, settled, cancelled, expired).</summary>
    public static string StatusOf(TradeStatus status) => status switch
    {
        TradeStatus.AwaitingPayment => "awaiting_payment",
        TradeStatus.Settled => "settled",
        TradeStatus.Cancelled => "cancelled",
        _ => "expired",
    };

    private static NpgsqlParameter Numeric(IEnumerable<decimal> values) => new() { Value = values.ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Numeric };

    private static NpgsqlParameter Timestamps(IEnumerable<DateTimeOffset> values) =>
        new() { Value = values.Select(v => v.UtcDateTime).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.TimestampTz };
}
