using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using FsCheck;
using FsCheck.Fluent;

namespace ComputeBank.Domain.Tests;

/// <summary>
/// Fingerprints are stored with every operation, so a faster implementation must give every command the fingerprint the
/// first implementation gave it; otherwise a retry after an upgrade would answer <c>operation_id_conflict</c>. The first
/// implementation is kept here, verbatim in behaviour, as the reference.
/// </summary>
public sealed class FingerprintCompatibilityTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 20, 8, 30, 0, TimeSpan.Zero);

    public static TheoryData<string> Texts() =>
    [
        "plain", "", "with \"quotes\" and \\backslash", "<script>alert('x') & co</script>", "中文 算力 银行", "emoji 🚀 GPU",
        "tab\tnewline\ncontrol\u0001", "nul\u0000byte", "lone \uD800 surrogate", "\u2028 line separator", "é composed e\u0301",
    ];

    [Theory]
    [MemberData(nameof(Texts))]
    public void GivenFreeText_WhenFingerprinting_ThenTheSameAsTheFirstImplementation(string text)
    {
        foreach (var command in Commands(text, 12.5m, "3.250"))
        {
            Assert.Equal(LegacyFingerprint.Of(command), CommandFingerprint.Of(command));
        }
    }

    [Fact]
    public void GivenRandomCommands_WhenFingerprinting_ThenTheSameAsTheFirstImplementation()
    {
        var texts = ArbMap.Default.GeneratorFor<string>().Where(s => s is not null);
        var amounts = Gen.Choose(0, 1_000_000).Select(c => c / 100m);
        var hours = Gen.Choose(1, 9_999_999).Select(m => (m / 1000m).ToString("0.###", System.Globalization.CultureInfo.InvariantCulture));
        Prop.ForAll(Arb.From(from t in texts from a in amounts from h in hours select (t, a, h)), input =>
        {
            foreach (var command in Commands(input.t, input.a, input.h))
            {
                Assert.Equal(LegacyFingerprint.Of(command), CommandFingerprint.Of(command));
            }
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void GivenAKnownTransfer_WhenFingerprinting_ThenItsStoredFingerprintIsReproduced()
    {
        // Computed by the first implementation; pinned so that neither implementation can drift alone.
        var transfer = new TransferCredits(
            OperationId.Parse("t-1"), AccountId.Parse("acme"), AccountId.Parse("sme"), Bucket.Of("gpu.h100", "beijing", "2026-11"),
            Hours.Parse("12.5"), new Settlement(1200.50m, "CNY", SettlementRail.ECny, "ecny-0001"), Now);
        Assert.Equal(LegacyFingerprint.Of(transfer), CommandFingerprint.Of(transfer));
        Assert.Equal(PinnedTransferFingerprint, CommandFingerprint.Of(transfer));
    }

    private const string PinnedTransferFingerprint = "b11f7545a0979f0220bf014fbd2e01e69c6cc0e70c4e5a4bcd892c21a62b0b50";

    private static IEnumerable<LedgerCommand> Commands(string text, decimal amount, string hours)
    {
        var bucket = Bucket.Of("gpu.h100", "beijing", "2026-11");
        var id = OperationId.Parse("op-1");
        var (a, b) = (AccountId.Parse("acct-a"), AccountId.Parse("acct-b"));
        var h = Hours.Parse(hours);
        yield return new OpenAccount(id, a, text, AccountKind.Consumer, text, Now);
        yield return new OpenAccount(id, a, text, AccountKind.Provider, null, Now);
        yield return new DepositCapacity(id, a, bucket, h, text, Now);
        yield return new WithdrawCredits(id, a, bucket, h, text, Now);
        yield return new TransferCredits(id, a, b, bucket, h, new Settlement(amount, text, SettlementRail.BankTransfer, text), Now);
        yield return new TransferCredits(id, a, b, bucket, h, null, Now);
        yield return new TransferAcrossPeriods(id, a, null, bucket.ResourceClass, bucket.Region, bucket.Period, Region.Parse("xiongan"), Period.Parse("2027-01"), h, Now);
        yield return new PlaceHold(id, a, b, bucket, h, Now.AddHours(2), Now);
        yield return new CaptureHold(id, OperationId.Parse("hold-1"), h, Now);
        yield return new CaptureHold(id, OperationId.Parse("hold-1"), null, Now);
        yield return new SetCreditLimit(id, a, bucket.ResourceClass, h, Now);
        yield return new ClosePeriod(id, Period.Parse("2026-11"), PeriodClosePolicy.Rollover, Period.Parse("2026-12"), [a, b], Now);
    }

    /// <summary>The first implementation of <see cref="CommandFingerprint.Of"/> (a node tree, keys sorted, numbers normalised).</summary>
    private static class LegacyFingerprint
    {
        public static string Of(LedgerCommand command)
        {
            var name = command.GetType().GetCustomAttribute<CommandNameAttribute>()!.Name;
            var node = JsonSerializer.SerializeToNode(command, command.GetType(), DomainJson.Options)!.AsObject();
            node.Remove("now");
            var canonical = new StringBuilder(name).Append('\n');
            Write(node, canonical);
            return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(canonical.ToString())));
        }

        private static void Write(JsonNode? node, StringBuilder text)
        {
            switch (node)
            {
                case null:
                    text.Append("null");
                    break;
                case JsonObject obj:
                    text.Append('{');
                    foreach (var (key, value) in obj.OrderBy(p => p.Key, StringComparer.Ordinal))
                    {
                        text.Append(JsonSerializer.Serialize(key)).Append(':');
                        Write(value, text);
                        text.Append(',');
                    }

                    text.Append('}');
                    break;
                case JsonArray array:
                    text.Append('[');
                    foreach (var item in array)
                    {
                        Write(item, text);
                        text.Append(',');
                    }

                    text.Append(']');
                    break;
                default:
                    var scalar = node.AsValue();
                    text.Append(scalar.GetValueKind() == JsonValueKind.Number
                        ? (scalar.GetValue<decimal>() / 1.000000000000000000000000000000000m).ToString(System.Globalization.CultureInfo.InvariantCulture)
                        : scalar.ToJsonString());
                    break;
            }
        }
    }
}
