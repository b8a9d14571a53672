namespace ComputeBank.Testing.Tests;

public sealed class ApprovalsTests
{
    [Fact]
    public void Scrub_NumbersEachDistinctGuidAndTimestampInOrderOfAppearance()
    {
        var text = "a 6f9619ff-8b86-d011-b42d-00c04fc964ff b 2026-11-24T10:00:00.123Z " +
                   "c 6f9619ff-8b86-d011-b42d-00c04fc964ff d 0e984725-c51c-4bf4-9960-e1c80e27aba0 e 2026-11-24T10:00:01Z";

        Assert.Equal("a Guid_1 b DateTime_1 c Guid_1 d Guid_2 e DateTime_2", Approvals.Scrub(text));
    }

    [Fact]
    public void Verify_MatchesTheCommittedVerifiedFile()
    {
        var result = Approvals.Verify(new
        {
            accountId = "acme.gpu",
            eventId = Guid.Parse("0e984725-c51c-4bf4-9960-e1c80e27aba0"),
            at = "2026-11-24T10:00:00Z",
            hours = "12.500",
        });

        Assert.Contains("Guid_1", result, StringComparison.Ordinal);
    }

    [Fact]
    public void Verify_OnMismatch_WritesReceivedFileAndFailsWithDiff()
    {
        var received = Path.Combine(SourceDirectory(), "ApprovalsTests.Verify_OnMismatch_WritesReceivedFileAndFailsWithDiff.received.json");

        var error = Assert.Throws<ApprovalException>(() => Approvals.Verify(new { hours = "13.000" }));

        Assert.Contains("-    2:   \"hours\": \"12.000\"", error.Message, StringComparison.Ordinal);
        Assert.Contains("+    2:   \"hours\": \"13.000\"", error.Message, StringComparison.Ordinal);
        Assert.True(File.Exists(received));
        File.Delete(received);
    }

    [Fact]
    public void Verify_WithoutVerifiedFile_FailsAndTellsHowToApprove()
    {
        var received = Path.Combine(SourceDirectory(), "ApprovalsTests.Verify_WithoutVerifiedFile_FailsAndTellsHowToApprove.received.json");

        var error = Assert.Throws<ApprovalException>(() => Approvals.Verify(new { x = 1 }));

        Assert.Contains("rename it to ApprovalsTests.Verify_WithoutVerifiedFile_FailsAndTellsHowToApprove.verified.json", error.Message, StringComparison.Ordinal);
        File.Delete(received);
    }

    [Fact]
    public void Diff_ShowsOnlyChangedLines()
    {
        var diff = Approvals.Diff("a\nb\nc", "a\nB\nc");

        Assert.Equal("+    2: B\n-    2: b\n", diff);
    }

    private static string SourceDirectory([System.Runtime.CompilerServices.CallerFilePath] string file = "") => Path.GetDirectoryName(file)!;
}
