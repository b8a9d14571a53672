using System.Net;

namespace ComputeBank.Api.Tests.Bugs;

/// <summary>
/// A bucket drawn down to zero leaves the account state, and the inline projection only upserted the state's buckets,
/// so <c>account_buckets</c> kept the last non-zero balance (and closing the period listed the account). The
/// projection now deletes the rows of buckets the state no longer has.
/// </summary>
public sealed class Bug_account_bucket_row_kept_balance_after_bucket_emptied(ApiFactory factory) : IClassFixture<ApiFactory>
{
    [Fact]
    public async Task GivenBucketWithdrawnToZero_WhenVerifying_ThenNoStaleRowRemains()
    {
        var client = new LedgerClient(factory.CreateClient());
        await client.FundAsync("prov-z", "cons-z", "7");
        (await client.WithdrawAsync("wd-z", "cons-z", "7")).ShouldBe(HttpStatusCode.Created);

        Assert.Equal(0, await factory.Database.ScalarAsync<int>("SELECT count(*) FROM cb.account_buckets WHERE account_id = 'cons-z' AND posted <> 0"));
        var report = (await client.GetAsync("/api/v1/audit/verify")).ShouldBe(HttpStatusCode.OK);
        Assert.True((bool)report.Body!["ok"]!, report.Text);
    }
}
