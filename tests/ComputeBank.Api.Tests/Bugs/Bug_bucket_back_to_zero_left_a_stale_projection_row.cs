using System.Net;

namespace ComputeBank.Api.Tests.Bugs;

/// <summary>Found by the fault suite: a bucket that went back to zero left the account's state, and its
/// <c>account_buckets</c> row kept the old balance.</summary>
public sealed class Bug_bucket_back_to_zero_left_a_stale_projection_row(ApiFactory factory) : IClassFixture<ApiFactory>
{
    [Fact]
    public async Task WithdrawingEverything_RemovesTheBucketRow()
    {
        var client = new LedgerClient(factory.CreateClient());
        await client.FundAsync("zero-provider", "zero-consumer", "3");
        (await client.WithdrawAsync("zero-wd", "zero-consumer", "3")).ShouldBe(HttpStatusCode.Created);

        var rows = await factory.Database.ScalarAsync<long>("SELECT count(*) FROM cb.account_buckets WHERE account_id IN ('zero-consumer', 'zero-provider')");

        Assert.Equal(0, rows);
    }
}
