using System.Net;
using ComputeBank.Api.Tests.Durable;
using ComputeBank.Api.Tests.Market;

namespace ComputeBank.Api.Tests.Bugs;

/// <summary>
/// Found by the fault suite's market clients: an offer's expiry was scheduled when its stream was written at version 1,
/// but an offer listed and taken from by an order in the same group commit ends that commit at version 2, so no
/// deadline was stored and the offer stayed on the book (its hours pending) past its validUntil for ever. Deadlines are
/// now set from the commit's events (OfferListed, TradeOpened).
/// </summary>
public sealed class Bug_an_offer_listed_and_taken_from_in_one_commit_never_expired(DurableApiFactory factory) : AsyncCommandTestsBase(factory)
{
    [Fact]
    public async Task GivenAnOfferListedAndTakenFromInOneAtomicBatch_WhenItsValidityEnds_ThenTheSchedulerExpiresIt()
    {
        var (provider, consumer, offerId, orderId) = (Id("prov"), Id("cons"), Id("offer"), Id("order"));
        await Client.ProviderWithAsync(provider, "10", "beijing");
        (await Client.OpenAsync(consumer)).ShouldBe(HttpStatusCode.Created);
        var validUntil = DateTimeOffset.UtcNow.AddSeconds(3).ToString("O");

        var batch = await Client.PostAsync("/api/v1/commands/batch", new
        {
            atomic = true,
            commands = new object[]
            {
                new { type = "offer", body = new { offerId, accountId = provider, resourceClass = "gpu.h100", region = "beijing", period = LedgerClient.Period, hours = "5", unitPrice = "1.00", validUntil } },
                new { type = "order", body = new { orderId, accountId = consumer, resourceClass = "gpu.h100", period = LedgerClient.Period, regions = new[] { "beijing" }, hours = "2", maxUnitPrice = "1.00" } },
            },
        });
        Assert.Equal([201, 201], batch.ShouldBe(HttpStatusCode.OK).Body!["results"]!.AsArray().Select(r => (int)r!["status"]!));

        var expiry = (await FinishedAsync("expire-offer:" + offerId)).Body!;

        Assert.Equal("succeeded", (string?)expiry["status"]);
        var offer = await Client.OfferAsync(offerId);
        Assert.Equal(("expired", "0.000", "2.000", "3.000"),
            ((string?)offer["status"], (string?)offer["hoursLeft"], (string?)offer["hoursInTrades"], (string?)offer["hoursReleased"]));
    }
}
