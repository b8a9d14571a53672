using System.Globalization;
using System.Text.Json;
using ComputeBank.Api.Contracts;
using ComputeBank.Api.Http;
using ComputeBank.Api.Ledger;
using ComputeBank.Api.Security;
using ComputeBank.Domain;
using ComputeBank.Domain.Market;
using ComputeBank.EventStore;
using Npgsql;

namespace ComputeBank.Api.Features.ReadingTheMarket;

/// <summary>
/// The market's queries: the book (offers in matching order), one offer, one trade, an account's trades, and statistics
/// of settled trades. Lists come from the inline read models of 0005_market.sql, written in the same transaction as the
/// events, so a client reads what it has just done; one offer or trade is folded from its stream like a hold.
/// </summary>
public static class MarketQueryEndpoints
{
    public const int DefaultLimit = 100;
    public const int MaxLimit = 1000;

    private static readonly string[] OfferStatuses = ["open", "filled", "withdrawn", "expired"];
    private static readonly string[] TradeStatuses = ["awaiting_payment", "settled", "cancelled", "expired"];

    public static void Map(IEndpointRouteBuilder api)
    {
        api.MapGet("/market/offers", BookAsync)
            .WithName("GetBook")
            .RequireAuthorization(Policies.MarketReader)
            .WithTags(ApiDocs.QueriesTag)
            .WithSummary("Read the book")
            .WithDescription("Offers of one resource class and period in matching order: lowest unit price first, then earliest listed (?region=&status=open&limit=&after=).")
            .AcceptsQuery(new QueryParameter("resourceClass", "The resource class.", QueryParameterType.Text, Required: true))
            .AcceptsQuery(new QueryParameter("period", "The period, such as 2026-11.", QueryParameterType.Text, Required: true))
            .AcceptsQuery(new QueryParameter("region", "Only offers of this region.", QueryParameterType.Text))
            .AcceptsQuery(new QueryParameter("status", "Offers in this status (open: those an order can take from now).", QueryParameterType.Text, Default: "open", AllowedValues: OfferStatuses))
            .AcceptsQuery(new QueryParameter("limit", "At most this many offers.", QueryParameterType.Int32, Minimum: 1, Maximum: MaxLimit, Default: DefaultLimit))
            .AcceptsQuery(new QueryParameter("after", "The next cursor of the previous page.", QueryParameterType.Text))
            .Produces<OfferPage>(StatusCodes.Status200OK, ApiDocs.Json)
            .ProducesProblems(400, "validation_failed");

        api.MapGet("/market/offers/{offerId}", OfferAsync)
            .WithName("GetOffer")
            .RequireAuthorization(Policies.MarketReader)
            .WithTags(ApiDocs.QueriesTag)
            .WithSummary("Get an offer")
            .WithDescription("The offer with hoursListed, hoursLeft, hoursInTrades, hoursSold and hoursReleased.")
            .Produces<OfferView>(StatusCodes.Status200OK, ApiDocs.Json)
            .ProducesProblems(400, "validation_failed")
            .ProducesProblems(404, "offer_not_found");

        api.MapGet("/market/trades/{tradeId}", TradeAsync)
            .WithName("GetTrade")
            .RequireAuthorization(Policies.MarketReader)
            .WithTags(ApiDocs.QueriesTag)
            .WithSummary("Get a trade")
            .WithDescription("The trade and its status; readable by its buyer, its seller, auditors, operators and the settlement system.")
            .Produces<TradeView>(StatusCodes.Status200OK, ApiDocs.Json)
            .ProducesProblems(400, "validation_failed")
            .ProducesProblems(404, "trade_not_found");

        api.MapGet("/market/trades", TradesAsync)
            .WithName("GetTrades")
            .RequireAuthorization(Policies.Reader)
            .WithTags(ApiDocs.QueriesTag)
            .WithSummary("List an account's trades")
            .WithDescription("The trades an account bought or sold, newest first (?accountId=&status=&limit=&after=); readable by the account's owner, auditors and operators.")
            .AcceptsQuery(new QueryParameter("accountId", "The account.", QueryParameterType.Text, Required: true))
            .AcceptsQuery(new QueryParameter("status", "Only trades in this status.", QueryParameterType.Text, AllowedValues: TradeStatuses))
            .AcceptsQuery(new QueryParameter("limit", "At most this many trades.", QueryParameterType.Int32, Minimum: 1, Maximum: MaxLimit, Default: DefaultLimit))
            .AcceptsQuery(new QueryParameter("after", "The next cursor of the previous page.", QueryParameterType.Text))
            .Produces<TradePage>(StatusCodes.Status200OK, ApiDocs.Json)
            .ProducesProblems(400, "validation_failed");

        api.MapGet("/market/stats", StatsAsync)
            .WithName("GetMarketStats")
            .RequireAuthorization(Policies.MarketReader)
            .WithTags(ApiDocs.QueriesTag)
            .WithSummary("Market statistics")
            .WithDescription("Per region, of the settled trades of one resource class and period: last price, volume-weighted average price, hours and trade count.")
            .AcceptsQuery(new QueryParameter("resourceClass", "The resource class.", QueryParameterType.Text, Required: true))
            .AcceptsQuery(new QueryParameter("period", "The period, such as 2026-11.", QueryParameterType.Text, Required: true))
            .Produces<MarketStatsView>(StatusCodes.Status200OK, ApiDocs.Json)
            .ProducesProblems(400, "validation_failed");
    }

    private static async Task<IResult> BookAsync(HttpRequest request, MartenEventStore store, LedgerCatalogue catalogue, TimeProvider time, CancellationToken ct)
    {
        var query = new QueryFields(request.Query);
        var (resourceClass, period) = ClassAndPeriod(query, catalogue);
        var region = query.Text("region");
        if (region is not null && (!Region.TryParse(region, out var parsed, out _) || !catalogue.HasRegion(parsed)))
        {
            query.Add("region", $"unknown region '{region}'; known: {string.Join(", ", catalogue.Regions)}");
        }

        var status = query.Choice("status", OfferStatuses, "open");
        var limit = query.Integer("limit", DefaultLimit, 1, MaxLimit);
        var after = query.Text("after");
        (decimal Price, long Listed)? cursor = null;
        if (after is not null)
        {
            var parts = after.Split('_');
            if (parts.Length != 2 || !decimal.TryParse(parts[0], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var price)
                || !long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var listed))
            {
                query.Add("after", "must be the next cursor of a previous page");
            }
            else
            {
                cursor = (price, listed);
            }
        }

        if (!query.IsValid)
        {
            return query.Problem();
        }

        // An open offer past its validUntil is shown expired (nothing can take from it); its expiry releases it shortly.
        var now = time.GetUtcNow();
        var statusFilter = status switch
        {
            "open" => "o.status = 'open' AND o.valid_until > $4",
            "expired" => "(o.status = 'expired' OR (o.status IN ('open', 'filled') AND o.valid_until <= $4))",
            "filled" => "o.status = 'filled' AND o.valid_until > $4",
            _ => "o.status = 'withdrawn'",
        };
        await using var command = store.DataSource.CreateCommand(
            $"SELECT o.state, o.version FROM {store.Schema}.market_offers o " +
            $"WHERE o.resource_class = $1 AND o.period = $2 AND ($3::text IS NULL OR o.region = $3) AND {statusFilter} " +
            "AND ($5::numeric IS NULL OR (o.unit_price, o.listed) > ($5, $6)) ORDER BY o.unit_price, o.listed LIMIT $7");
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = resourceClass!.Value });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = period!.ToString() });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)region ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter<DateTime> { TypedValue = now.UtcDateTime });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)cursor?.Price ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Numeric });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = cursor?.Listed ?? 0 });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = (int)limit!.Value + 1 });
        var offers = new List<OfferState>();
        var views = new List<OfferView>();
        await using (var reader = await command.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct))
            {
                var offer = JsonSerializer.Deserialize<OfferState>(reader.GetString(0), DomainJson.Options)!;
                offers.Add(offer);
                views.Add(MarketResults.Offer(offer, reader.GetInt64(1), now));
            }
        }

        var more = views.Count > limit.Value;
        var last = more ? offers[(int)limit.Value - 1] : null;
        return Results.Json(new OfferPage
        {
            Offers = [.. views.Take((int)limit.Value)],
            Next = last is null ? null : string.Create(CultureInfo.InvariantCulture, $"{last.UnitPrice:0.00}_{last.Listed}"),
        }, ContractJson.Options);
    }

    private static async Task<IResult> OfferAsync(string offerId, MartenEventStore store, TimeProvider time, CancellationToken ct)
    {
        if (!OperationId.TryParse(offerId, out var id, out var error))
        {
            return Problems.Validation(new Dictionary<string, string[]>(StringComparer.Ordinal) { ["offerId"] = [error ?? "is not valid"] });
        }

        var (state, version) = await store.CurrentAsync(StreamIds.Offer(id), ct);
        return state is OfferState offer
            ? Results.Json(MarketResults.Offer(offer, version, time.GetUtcNow()), ContractJson.Options)
            : Problems.NotFound("offer_not_found", $"No offer '{offerId}'.");
    }

    private static async Task<IResult> TradeAsync(HttpContext http, string tradeId, MartenEventStore store, TimeProvider time, CancellationToken ct)
    {
        if (!OperationId.TryParse(tradeId, out var id, out var error))
        {
            return Problems.Validation(new Dictionary<string, string[]>(StringComparer.Ordinal) { ["tradeId"] = [error ?? "is not valid"] });
        }

        var (state, _) = await store.CurrentAsync(StreamIds.Trade(id), ct);
        var trade = state as TradeState;
        // A buyer or seller is told about its own trades only; any other id answers as another's would, so that ids cannot be probed.
        if (!ReadsEveryTrade(http) && !await OwnsAnyAsync(http, trade is null ? [] : [trade.BuyerAccountId.Value, trade.SellerAccountId.Value], ct))
        {
            return ReadAuthorization.Refused(http, $"trade '{tradeId}' is not one of the caller's");
        }

        return trade is null
            ? Problems.NotFound("trade_not_found", $"No trade '{tradeId}'.")
            : Results.Json(MarketResults.Trade(trade, time.GetUtcNow()), ContractJson.Options);
    }

    private static async Task<IResult> TradesAsync(HttpContext http, MartenEventStore store, TimeProvider time, CancellationToken ct)
    {
        var query = new QueryFields(http.Request.Query);
        var accountText = query.Text("accountId", required: true);
        if (accountText is not null && !AccountId.TryParse(accountText, out _, out var error))
        {
            query.Add("accountId", error ?? "is not a valid account id");
        }

        var status = query.Choice("status", TradeStatuses, null);
        var limit = query.Integer("limit", DefaultLimit, 1, MaxLimit);
        var after = query.Text("after");
        (DateTimeOffset OpenedAt, string TradeId)? cursor = null;
        if (after is not null)
        {
            var split = after.IndexOf('_', StringComparison.Ordinal);
            if (split < 0 || !long.TryParse(after[..split], NumberStyles.None, CultureInfo.InvariantCulture, out var ticks) || split == after.Length - 1)
            {
                query.Add("after", "must be the next cursor of a previous page");
            }
            else
            {
                cursor = (new DateTimeOffset(ticks, TimeSpan.Zero), after[(split + 1)..]);
            }
        }

        if (!query.IsValid)
        {
            return query.Problem();
        }

        if (!ReadAuthorization.ReadsEverything(http.User, http.RequestServices.GetRequiredService<AuthSettings>()) && !await OwnsAnyAsync(http, [accountText!], ct))
        {
            return ReadAuthorization.Refused(http, $"account '{accountText}' is not one of the caller's");
        }

        var now = time.GetUtcNow();
        var statusFilter = status switch
        {
            null => "true",
            "awaiting_payment" => "t.status = 'awaiting_payment' AND t.pay_by > $3",
            "expired" => "(t.status = 'expired' OR (t.status = 'awaiting_payment' AND t.pay_by <= $3))",
            "settled" => "t.status = 'settled'",
            _ => "t.status = 'cancelled'",
        };
        var page = $"{statusFilter} AND ($4::timestamptz IS NULL OR (t.opened_at, t.trade_id) < ($4, $5))";
        await using var command = store.DataSource.CreateCommand(
            $"SELECT state FROM (SELECT t.* FROM {store.Schema}.market_trades t WHERE t.buyer_account_id = $1 AND {page} " +
            $"UNION ALL SELECT t.* FROM {store.Schema}.market_trades t WHERE t.seller_account_id = $1 AND t.buyer_account_id <> $1 AND {page}) t " +
            "ORDER BY t.opened_at DESC, t.trade_id DESC LIMIT $2");
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = accountText! });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = (int)limit!.Value + 1 });
        command.Parameters.Add(new NpgsqlParameter<DateTime> { TypedValue = now.UtcDateTime });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)cursor?.OpenedAt.UtcDateTime ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.TimestampTz });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = cursor?.TradeId ?? string.Empty });
        var trades = new List<TradeState>();
        await using (var reader = await command.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct))
            {
                trades.Add(JsonSerializer.Deserialize<TradeState>(reader.GetString(0), DomainJson.Options)!);
            }
        }

        var more = trades.Count > limit.Value;
        var last = more ? trades[(int)limit.Value - 1] : null;
        return Results.Json(new TradePage
        {
            Trades = [.. trades.Take((int)limit.Value).Select(t => MarketResults.Trade(t, now))],
            Next = last is null ? null : string.Create(CultureInfo.InvariantCulture, $"{last.OpenedAt.UtcTicks}_{last.TradeId.Value}"),
        }, ContractJson.Options);
    }

    private static async Task<IResult> StatsAsync(HttpRequest request, MartenEventStore store, LedgerCatalogue catalogue, CancellationToken ct)
    {
        var query = new QueryFields(request.Query);
        var (resourceClass, period) = ClassAndPeriod(query, catalogue);
        if (!query.IsValid)
        {
            return query.Problem();
        }

        await using var command = store.DataSource.CreateCommand(
            $"SELECT region, last_price, volume, amount, trade_count FROM {store.Schema}.market_stats WHERE resource_class = $1 AND period = $2 ORDER BY region");
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = resourceClass!.Value });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = period!.ToString() });
        var regions = new List<RegionStatsView>();
        await using (var reader = await command.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct))
            {
                var volume = new Hours(reader.GetInt64(2));
                var amount = reader.GetDecimal(3);
                regions.Add(new RegionStatsView
                {
                    Region = reader.GetString(0),
                    LastPrice = MarketResults.Money(reader.GetDecimal(1)),
                    Vwap = MarketResults.Money(decimal.Round(amount * 1000m / volume.MilliHours, 2, MidpointRounding.AwayFromZero)),
                    VolumeHours = volume.ToString(),
                    TradeCount = reader.GetInt64(4),
                });
            }
        }

        return Results.Json(new MarketStatsView { ResourceClass = resourceClass.Value, Period = period.ToString(), Regions = regions }, ContractJson.Options);
    }

    private static (ResourceClass? ResourceClass, Period? Period) ClassAndPeriod(QueryFields query, LedgerCatalogue catalogue)
    {
        var classText = query.Text("resourceClass", required: true);
        var periodText = query.Text("period", required: true);
        ResourceClass? resourceClass = null;
        Period? period = null;
        if (classText is not null && (!ResourceClass.TryParse(classText, out resourceClass, out _) || !catalogue.HasResourceClass(resourceClass)))
        {
            query.Add("resourceClass", $"unknown resource class '{classText}'; known: {string.Join(", ", catalogue.ResourceClasses)}");
        }

        if (periodText is not null && (!Period.TryParse(periodText, out period, out var error) || period.Granularity != catalogue.PeriodGranularity))
        {
            query.Add("period", error ?? $"must be a {catalogue.PeriodGranularity.ToString().ToLowerInvariant()} period");
        }

        return (resourceClass, period);
    }

    private static bool ReadsEveryTrade(HttpContext http) =>
        ReadAuthorization.ReadsEverything(http.User, http.RequestServices.GetRequiredService<AuthSettings>()) || http.User.IsInRole(Roles.Settlement);

    private static async Task<bool> OwnsAnyAsync(HttpContext http, IReadOnlyCollection<string> accountIds, CancellationToken ct)
    {
        var owner = http.User.FindFirst(ClaimNames.Owner)?.Value;
        if (string.IsNullOrEmpty(owner) || accountIds.Count == 0)
        {
            return false;
        }

        var known = await http.RequestServices.GetRequiredService<OwnershipReader>().ReadAsync(accountIds, ct);
        return known.Accounts.Values.Any(a => string.Equals(a.OwnerId, owner, StringComparison.Ordinal));
    }
}
