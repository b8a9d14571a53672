namespace ComputeBank.EventStore.Tests.Conformance;

public abstract partial class EventStoreConformance
{
    [Fact]
    public async Task GivenFreshSchema_WhenTwoNodesMigrateAtOnce_ThenBothSucceedAndEachScriptIsAppliedOnce()
    {
        await ExecuteAsync("DROP SCHEMA IF EXISTS {schema}_twin CASCADE");
        var options = new EventStoreOptions { ConnectionString = Database.ConnectionString, Schema = Schema + "_twin" };
        await using var a = MartenEventStore.Create(options, TestTypes.Registry());
        await using var b = MartenEventStore.Create(options, TestTypes.Registry());

        await Task.WhenAll(a.MigrateAsync(Ct), b.MigrateAsync(Ct), a.MigrateAsync(Ct));

        // One row per numbered script (0001, 0002, ...: every embedded script but 0000), each applied once.
        var scripts = typeof(MartenEventStore).Assembly.GetManifestResourceNames().Count(n => n.Contains(".Scripts.", StringComparison.Ordinal)) - 1;
        Assert.True(scripts >= 1);
        Assert.Equal(scripts, await ScalarAsync("SELECT count(*) FROM {schema}_twin.schema_versions"));
        Assert.Equal(scripts, await ScalarAsync("SELECT count(DISTINCT version) FROM {schema}_twin.schema_versions"));
        const string Applied = "SELECT string_agg(version || '@' || applied_at::text, ',' ORDER BY version) FROM {0}_twin.schema_versions";
        var appliedAt = await Database.ScalarAsync<string>(string.Format(System.Globalization.CultureInfo.InvariantCulture, Applied, Schema), Ct);
        await b.MigrateAsync(Ct);
        Assert.Equal(appliedAt, await Database.ScalarAsync<string>(string.Format(System.Globalization.CultureInfo.InvariantCulture, Applied, Schema), Ct));

        await using var session = a.OpenSession();
        session.StartStream("twin-1", "Account", [new Deposited(1)]);
        await session.SaveChangesAsync(Ct);
        Assert.Single(await b.ReadStreamAsync("twin-1", 1, Ct));
    }

    [Fact]
    public void GivenSchemaNameWithQuotes_WhenCreatingStore_ThenItIsRejected() =>
        Assert.Throws<ArgumentException>(() => MartenEventStore.Create(
            new EventStoreOptions { ConnectionString = Database.ConnectionString, Schema = "cb\"; DROP TABLE x; --" }, TestTypes.Registry()));
}
