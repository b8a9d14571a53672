using System.Text.Json;
using ComputeBank.Domain.Accounts;
using ComputeBank.Testing;

namespace ComputeBank.Domain.Tests;

public sealed class SerializationTests
{
    [Fact]
    public void EventNameMap_IsApproved() =>
        Approvals.Verify(DomainEvents.All.ToDictionary(e => e.Value, e => e.Key.FullName));

    [Fact]
    public void GivenEveryEventType_WhenLookingUpItsName_ThenItHasOneAndItIsVersioned()
    {
        var eventTypes = typeof(Ledger).Assembly.GetTypes()
            .Where(t => !t.IsAbstract && (t.IsSubclassOf(typeof(AccountEvent)) || t.IsSubclassOf(typeof(Holds.HoldEvent)) || t.IsSubclassOf(typeof(Periods.PeriodEvent))));

        Assert.All(eventTypes, t => Assert.StartsWith("V1.", DomainEvents.NameOf(t), StringComparison.Ordinal));
        Assert.Equal(DomainEvents.All.Count, DomainEvents.All.Values.Distinct(StringComparer.Ordinal).Count());
    }

    [Fact]
    public void GivenAnEvent_WhenSerialized_ThenCamelCaseWithHoursAsStringsAndItRoundTrips()
    {
        var bucket = Bucket.Of("gpu.h100", "beijing", "2026-11");
        var @event = new CreditsTransferredIn(OperationId.Parse("t-1"), AccountId.Parse("c"), AccountId.Parse("p"), bucket, Hours.Parse("12.5"),
            new Settlement(1250.50m, "CNY", SettlementRail.ECny, "pay-1"), [new Posting(AccountId.Parse("c"), bucket, Hours.Parse("12.5"))],
            new DateTimeOffset(2026, 11, 24, 10, 0, 0, TimeSpan.Zero));

        var json = DomainJson.SerializeEvent(@event);
        var back = Assert.IsType<CreditsTransferredIn>(DomainJson.DeserializeEvent(DomainEvents.NameOf(@event), json));

        Assert.Contains("\"hours\":\"12.500\"", json, StringComparison.Ordinal);
        Assert.Contains("\"bucket\":{\"resourceClass\":\"gpu.h100\",\"region\":\"beijing\",\"period\":\"2026-11\"}", json, StringComparison.Ordinal);
        Assert.Contains("\"rail\":\"e-cny\"", json, StringComparison.Ordinal);
        Assert.Equal(json, DomainJson.SerializeEvent(back));
    }

    [Fact]
    public void GivenAnAccountState_WhenSerialized_ThenItRoundTripsWithBucketKeys()
    {
        var model = new LedgerModel(LedgerCatalogue.Default);
        var now = new DateTimeOffset(2026, 11, 24, 10, 0, 0, TimeSpan.Zero);
        var bucket = Bucket.Of("gpu.h100", "beijing", "2026-11");
        model.Submit(new OpenAccount(OperationId.Parse("o"), AccountId.Parse("c"), "party", AccountKind.Consumer, "C", now));
        model.Submit(new SetCreditLimit(OperationId.Parse("l"), AccountId.Parse("c"), ResourceClass.Parse("gpu.h100"), Hours.Parse("9"), now));
        model.Submit(new PlaceHold(OperationId.Parse("h"), AccountId.Parse("c"), null, bucket, Hours.Parse("2"), now.AddHours(1), now));
        var state = model.State(StreamIds.Account(AccountId.Parse("c")));

        var json = DomainJson.SerializeState(state);
        var back = DomainJson.DeserializeState(StreamIds.AccountType, json);

        Assert.Contains("\"gpu.h100/beijing/2026-11\":{\"posted\":\"0.000\",\"pending\":\"2.000\"}", json, StringComparison.Ordinal);
        Assert.Equal(json, DomainJson.SerializeState(back));
    }

    [Fact]
    public void GivenEqualCommandsAtOtherTimes_WhenFingerprinting_ThenSameHashButOtherFieldsDiffer()
    {
        var bucket = Bucket.Of("gpu.h100", "beijing", "2026-11");
        var settlement = new Settlement(12.5m, "CNY", SettlementRail.BankTransfer, "p");
        TransferCredits Command(string hours, decimal amount, DateTimeOffset now) =>
            new(OperationId.Parse("t"), AccountId.Parse("a"), AccountId.Parse("b"), bucket, Hours.Parse(hours), settlement with { Amount = amount }, now);

        var first = CommandFingerprint.Of(Command("12.5", 12.5m, DateTimeOffset.UnixEpoch));

        Assert.Matches("^[0-9a-f]{64}$", first);
        Assert.Equal(first, CommandFingerprint.Of(Command("12.500", 12.50m, DateTimeOffset.UnixEpoch.AddDays(3))));
        Assert.NotEqual(first, CommandFingerprint.Of(Command("12.501", 12.5m, DateTimeOffset.UnixEpoch)));
        Assert.NotEqual(first, CommandFingerprint.Of(Command("12.5", 12.51m, DateTimeOffset.UnixEpoch)));
        Assert.NotEqual(first, CommandFingerprint.Of(new WithdrawCredits(OperationId.Parse("t"), AccountId.Parse("a"), bucket, Hours.Parse("12.5"), null, DateTimeOffset.UnixEpoch)));
    }

    [Fact]
    public void GivenAJsonNumberRate_WhenReading_ThenExactDecimal() =>
        Assert.Equal(955_000, JsonSerializer.Deserialize<ConversionRate>("0.955", DomainJson.Options).PartsPerMillion);
}
