using System.Diagnostics;
using System.Globalization;
using ComputeBank.Api.Auditing;
using ComputeBank.Api.Ledger;
using ComputeBank.Domain;
using ComputeBank.Domain.Accounts;
using ComputeBank.EventStore;
using Npgsql;

// Read-side benchmark. Each phase runs in its own process so that its memory peak is its own:
//   dotnet run -c Release --project tests/ComputeBank.ReadSide.Benchmarks -- generate <database> <events>
//   dotnet run -c Release --project tests/ComputeBank.ReadSide.Benchmarks -- rebuild <database>
//   dotnet run -c Release --project tests/ComputeBank.ReadSide.Benchmarks -- verify <database>
//   dotnet run -c Release --project tests/ComputeBank.ReadSide.Benchmarks -- drop <database>
// COMPUTEBANK_TEST_PG is the admin connection string. Events go to a fixed 1,000 account streams (so a larger event
// count means longer streams, not more of them: the read side's memory should then stay flat).
if (args.Length < 2)
{
    Console.Error.WriteLine("usage: generate <database> <events> | rebuild <database> | verify <database> | drop <database>");
    return 2;
}

var admin = Environment.GetEnvironmentVariable("COMPUTEBANK_TEST_PG") ?? throw new InvalidOperationException("set COMPUTEBANK_TEST_PG");
var database = args[1];
var connection = new NpgsqlConnectionStringBuilder(admin) { Database = database, MaxPoolSize = 10 }.ConnectionString;
const int Streams = 1000;
var clock = Stopwatch.StartNew();

switch (args[0])
{
    case "generate":
    {
        var total = long.Parse(args[2], CultureInfo.InvariantCulture);
        await using (var c = new NpgsqlConnection(admin))
        {
            await c.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE DATABASE \"{database}\"", c);
            await create.ExecuteNonQueryAsync();
        }

        await using var store = Open(connection);
        await store.MigrateAsync(default, LedgerTypes.Modules);
        var perStream = (int)(total / Streams);
        var written = 0L;
        // Streams in pairs (a, b): a deposits, transfers to b, withdraws; b receives and withdraws. Every operation
        // balances, so the generated ledger is honest. 100 streams x 100 events per append call.
        var chunks = Enumerable.Range(0, Streams / 100).ToList();
        await Parallel.ForEachAsync(chunks, new ParallelOptions { MaxDegreeOfParallelism = 2 }, async (chunk, ct) =>
        {
            for (var offset = 0; offset < perStream; offset += 100)
            {
                var count = Math.Min(100, perStream - offset);
                await using var session = store.OpenSession();
                for (var s = chunk * 100; s < chunk * 100 + 100; s++)
                {
                    session.Append($"account-acc{s:D4}", offset == 0 ? ExpectedVersion.NoStream : ExpectedVersion.Exactly(offset),
                        [.. Enumerable.Range(offset, count).Select(i => EventOf(s, i))], StreamIds.AccountType);
                }

                await session.SaveChangesAsync(ct);
                var now = Interlocked.Add(ref written, 100L * count);
                if (now % 100_000 == 0)
                {
                    Console.Error.Write(string.Create(CultureInfo.InvariantCulture, $"\r{now:N0} events"));
                }
            }
        });
        Report($"generate: {written:N0} events in {Streams} streams", written);
        break;
    }

    case "rebuild":
    {
        await using var store = Open(connection);
        var result = await new ReadModelRebuilder(store, LedgerCatalogue.Default).RebuildAsync([.. ReadModels.All.Keys], null, default);
        Report($"rebuild {string.Join("+", result.ReadModels)}: {result.StreamsWritten} streams written", result.EventsReplayed);
        break;
    }

    case "verify":
    {
        await using var store = Open(connection);
        var report = await new LedgerAuditor(store, LedgerCatalogue.Default).VerifyAsync(null, default);
        Report($"audit verify: ok={report.Ok}, {report.DiscrepancyCount} discrepancies", report.EventsChecked);
        return report.Ok ? 0 : 1;
    }

    case "scan":
    {
        // Diagnostics: the replay's parts in isolation (read + deserialise; hash chains).
        await using var store = Open(connection);
        long n = 0;
        await using (var scan = await EventScan.OpenAsync(store.DataSource, store.Schema, default))
        {
            await foreach (var e in scan.EventsAsync(0, default))
            {
                n++;
            }
        }

        Report("scan (read + deserialise)", n);
        clock.Restart();
        var breaks = await store.VerifyHashChainsAsync(default);
        Report($"hash chains ({breaks.Count} breaks)", n);
        clock.Restart();
        long m = 0;
        await foreach (var e in store.StreamAllAsync(0, default))
        {
            m++;
        }

        Report("StreamAllAsync", m);
        break;
    }

    case "drop":
    {
        await using var c = new NpgsqlConnection(admin);
        await c.OpenAsync();
        await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{database}\" WITH (FORCE)", c);
        await drop.ExecuteNonQueryAsync();
        break;
    }

    default:
        Console.Error.WriteLine($"unknown phase '{args[0]}'");
        return 2;
}

return 0;

static MartenEventStore Open(string connection) => MartenEventStore.Create(
    new EventStoreOptions { ConnectionString = connection, Json = DomainJson.Options }, LedgerTypes.Registry());

void Report(string what, long events)
{
    var seconds = clock.Elapsed.TotalSeconds;
    using var process = Process.GetCurrentProcess();
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"{what}: {events:N0} events in {seconds:F1} s = {events / seconds:N0} events/s; peak working set {process.PeakWorkingSet64 / 1048576.0:F0} MiB, GC heap now {GC.GetTotalMemory(false) / 1048576.0:F0} MiB"));
}

static object EventOf(int stream, int index)
{
    var id = AccountId.Parse($"acc{stream:D4}");
    var partner = AccountId.Parse($"acc{stream ^ 1:D4}");
    var bucket = Bucket.Of("gpu.h100", "beijing", "2026-11");
    var at = new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero).AddSeconds(index);
    var op = OperationId.Parse($"op-{stream}-{index}");
    var one = Hours.FromWholeHours(1);
    var capacity = AccountId.Parse("bank.capacity");
    var consumption = AccountId.Parse("bank.consumption");
    if (index == 0)
    {
        return new AccountOpened(op, id, "owner-" + id, AccountKind.Provider, null, at);
    }

    // Even streams: deposit 2, transfer 1 out to the partner, withdraw 1 (net 0 per cycle); odd streams: receive 1,
    // withdraw 1. Each transfer's two halves are at the same index of the two partner streams.
    var even = stream % 2 == 0;
    return (index % 3, even) switch
    {
        (1, true) => new CapacityDeposited(op, id, bucket, one + one, null, [new Posting(capacity, bucket, -(one + one)), new Posting(id, bucket, one + one)], at),
        (2, true) => new CreditsTransferredOut(OperationId.Parse($"tr-{stream}-{index}"), id, partner, bucket, one, null, [new Posting(id, bucket, -one)], at),
        (2, false) => new CreditsTransferredIn(OperationId.Parse($"tr-{stream ^ 1}-{index}"), id, partner, bucket, one, null, [new Posting(id, bucket, one)], at),
        (0, _) => new CreditsWithdrawn(op, id, bucket, one, null, [new Posting(id, bucket, -one), new Posting(consumption, bucket, one)], at),
        _ => new CreditLimitSet(op, id, ResourceClass.Parse("gpu.h100"), Hours.Zero, at),
    };
}
