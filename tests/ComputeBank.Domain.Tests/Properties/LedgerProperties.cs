using ComputeBank.Domain.Accounts;
using FsCheck.Xunit;

namespace ComputeBank.Domain.Tests.Properties;

/// <summary>
/// The auditors' invariants of DOMAIN.md over random command sequences (1,000 per property, shrinking on).
/// Each property was seen failing against a deliberately broken rule before being trusted.
/// </summary>
public sealed class LedgerProperties
{
    /// <summary>(1) Double entry: per resource class all postings (system accounts included) sum to zero, after every command,
    /// and so does every single accepted operation; and each posting sits on its own account's stream (counted once).</summary>
    [Property(MaxTest = 1000, Arbitrary = [typeof(LedgerArbitraries)])]
    public void PostingsOfEveryResourceClassSumToZero(Step[] steps) => LedgerSimulation.Run(steps, (simulation, _, result) =>
    {
        var catalogue = simulation.Model.Catalogue;
        if (result.Decision is Accepted accepted)
        {
            var operation = accepted.Changes.SelectMany(c => c.Events).SelectMany(DomainEvents.PostingsOf);
            AssertZeroPerClass(operation, "one operation");
        }

        var events = simulation.Model.Events;
        AssertZeroPerClass(events.SelectMany(e => DomainEvents.PostingsOf(e.Event)), "all events");
        foreach (var e in events)
        {
            foreach (var posting in DomainEvents.PostingsOf(e.Event).Where(p => !catalogue.IsSystemAccount(p.AccountId)))
            {
                Assert.Equal(StreamIds.Account(posting.AccountId), e.StreamId);
            }
        }

        // Every account's posted balance is exactly the sum of its postings.
        var sums = events.SelectMany(e => DomainEvents.PostingsOf(e.Event))
            .Where(p => !catalogue.IsSystemAccount(p.AccountId))
            .GroupBy(p => (p.AccountId, p.Bucket))
            .Where(g => g.Sum(p => p.Amount.MilliHours) != 0)
            .ToDictionary(g => g.Key, g => g.Sum(p => p.Amount.MilliHours));
        var posted = simulation.Model.StreamIds.Select(simulation.Model.State).OfType<AccountState>()
            .SelectMany(a => a.Balances.Where(b => !b.Value.Posted.IsZero).Select(b => (Key: (a.AccountId, b.Key), b.Value.Posted.MilliHours)))
            .ToDictionary(x => x.Key, x => x.MilliHours);
        Assert.Equal(sums.OrderBy(s => s.Key.ToString(), StringComparer.Ordinal), posted.OrderBy(s => s.Key.ToString(), StringComparer.Ordinal));
    });

    /// <summary>(2) No non-system bucket ever has available &lt; 0.</summary>
    [Property(MaxTest = 1000, Arbitrary = [typeof(LedgerArbitraries)])]
    public void NoBucketEverHasNegativeAvailable(Step[] steps) => LedgerSimulation.Run(steps, (simulation, _, _) =>
    {
        foreach (var account in simulation.Model.StreamIds.Select(simulation.Model.State).OfType<AccountState>())
        {
            foreach (var bucket in account.Balances.Keys)
            {
                Assert.False(account.Available(bucket).IsNegative, $"{account.AccountId} {bucket}: available {account.Available(bucket)}");
            }
        }
    });

    /// <summary>
    /// (2, credit) A credit limit bounds the account's total debt in its class: the negative nets (posted − pending) of
    /// every bucket of the class, counted straight from the balances, never exceed the limit; and a bucket's debt grows
    /// only in a period at most twelve months after the command's time.
    /// </summary>
    [Property(MaxTest = 1000, Arbitrary = [typeof(LedgerArbitraries)])]
    public void CreditUsedNeverExceedsTheLimitAndIsDrawnAtMostTwelveMonthsAhead(Step[] steps)
    {
        var debts = new Dictionary<(AccountId, Bucket), long>();
        LedgerSimulation.Run(steps, (simulation, command, _) =>
        {
            foreach (var account in simulation.Model.StreamIds.Select(simulation.Model.State).OfType<AccountState>())
            {
                foreach (var byClass in account.Balances.GroupBy(b => b.Key.ResourceClass))
                {
                    var debt = byClass.Sum(b => Math.Max(0, b.Value.Pending.MilliHours - b.Value.Posted.MilliHours));
                    Assert.True(debt <= account.CreditLimit(byClass.Key).MilliHours,
                        $"{account.AccountId} owes {debt} mh of {byClass.Key}, limit {account.CreditLimit(byClass.Key)}");
                }

                foreach (var (bucket, balance) in account.Balances)
                {
                    var debt = Math.Max(0, balance.Pending.MilliHours - balance.Posted.MilliHours);
                    if (debt > debts.GetValueOrDefault((account.AccountId, bucket)))
                    {
                        var latest = Period.Containing(command.Now, bucket.Period.Granularity).AddPeriods(12);
                        Assert.True(bucket.Period.CompareTo(latest) <= 0, $"{account.AccountId} drew credit in {bucket} at {command.Now:O}");
                    }

                    debts[(account.AccountId, bucket)] = debt;
                }
            }
        });
    }

    /// <summary>(3) Folding every stream's events from scratch gives the running state (which went through JSON snapshots).</summary>
    [Property(MaxTest = 1000, Arbitrary = [typeof(LedgerArbitraries)])]
    public void ReplayingAllEventsReproducesEveryState(Step[] steps)
    {
        var simulation = LedgerSimulation.Run(steps, (_, _, _) => { });
        var model = simulation.Model;

        foreach (var stream in model.Events.GroupBy(e => e.StreamId))
        {
            var folded = stream.OrderBy(e => e.Version).Aggregate((object?)null, (state, e) => Ledger.Evolve(stream.Key, state, e.Event));
            Assert.Equal(DomainJson.SerializeState(folded), DomainJson.SerializeState(model.State(stream.Key)));
        }

        // The stored events themselves survive their JSON form unchanged.
        foreach (var e in model.Events)
        {
            var json = DomainJson.SerializeEvent(e.Event);
            Assert.Equal(json, DomainJson.SerializeEvent(DomainJson.DeserializeEvent(DomainEvents.NameOf(e.Event), json)));
        }
    }

    /// <summary>(4) Re-submitting any earlier command (same operation id and fields, later time) changes nothing and
    /// returns the first outcome: during the run (Resubmit steps) and for every command at the end.</summary>
    [Property(MaxTest = 1000, Arbitrary = [typeof(LedgerArbitraries)])]
    public void ResubmittingAnEarlierCommandChangesNothing(Step[] steps)
    {
        var simulation = LedgerSimulation.Run(steps, (s, command, result) =>
        {
            var first = s.Submitted.FindIndex(x => x.Command.OperationId == command.OperationId);
            if (result.Replayed)
            {
                Assert.Equal(s.Submitted[first].FirstDecisionJson, DomainJson.Serialize(result.Decision));
            }
        });
        var model = simulation.Model;
        var eventCount = model.Events.Count;
        var states = model.StreamIds.ToDictionary(id => id, id => DomainJson.SerializeState(model.State(id)));

        foreach (var (command, firstJson) in simulation.Submitted)
        {
            var again = model.Submit(command with { Now = command.Now.AddDays(30) });

            Assert.True(again.Replayed);
            Assert.Equal(firstJson, DomainJson.Serialize(again.Decision));
        }

        Assert.Equal(eventCount, model.Events.Count);
        Assert.All(states, s => Assert.Equal(s.Value, DomainJson.SerializeState(model.State(s.Key))));
    }

    private static void AssertZeroPerClass(IEnumerable<Posting> postings, string scope)
    {
        foreach (var byClass in postings.GroupBy(p => p.Bucket.ResourceClass))
        {
            Assert.True(byClass.Sum(p => p.Amount.MilliHours) == 0, $"postings of {byClass.Key} over {scope} sum to {byClass.Sum(p => p.Amount.MilliHours)}");
        }
    }
}
