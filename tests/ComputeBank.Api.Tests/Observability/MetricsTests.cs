using System.Net;
using OpenTelemetry.Metrics;

namespace ComputeBank.Api.Tests.Observability;

/// <summary>The bus's instruments are process-wide (one static Meter per component), so these tests run alone, after
/// the parallel ones, and see only their own commands.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SerialMetricsCollection
{
    public const string Name = "Serial metrics";
}

[Collection(SerialMetricsCollection.Name)]
public sealed class MetricsTests(TelemetryApiFactory factory) : IClassFixture<TelemetryApiFactory>
{
    private readonly LedgerClient _client = new(factory.CreateClient());

    [Fact]
    public async Task GivenAnEmptyAccount_WhenWithdrawing_ThenTheRejectionIsCountedByTypeAndCode()
    {
        await _client.FundAsync("metrics-provider", "metrics-consumer", "5");
        var before = Sum(factory.CollectMetrics(), "computebank.bus.commands.rejected", ("computebank.command.type", "withdrawal"), ("error.type", "insufficient_credits"));

        (await _client.WithdrawAsync("metrics-withdrawal-1", "metrics-consumer", "6")).ShouldBeProblem(HttpStatusCode.UnprocessableEntity, "insufficient_credits");
        (await _client.WithdrawAsync("metrics-withdrawal-2", "metrics-consumer", "1")).ShouldBe(HttpStatusCode.Created);

        var metrics = factory.CollectMetrics();
        Assert.Equal(before + 1, Sum(metrics, "computebank.bus.commands.rejected", ("computebank.command.type", "withdrawal"), ("error.type", "insufficient_credits")));
        Assert.Equal(1, Sum(metrics, "computebank.bus.commands.handled", ("computebank.command.type", "withdrawal"), ("computebank.command.result", "rejected")));
        Assert.Equal(1, Sum(metrics, "computebank.bus.commands.handled", ("computebank.command.type", "withdrawal"), ("computebank.command.result", "accepted")));
        Assert.Equal(2, HistogramCount(metrics, "computebank.bus.command.duration", ("computebank.command.type", "withdrawal")));
        Assert.True(HistogramCount(metrics, "computebank.bus.batch.size") >= 6, "every group commit records its size");
        Assert.True(Sum(metrics, "computebank.eventstore.events.appended", ("computebank.event.type", "V1.CreditsWithdrawn")) > 0, "the store counts appended events by type");
        Assert.Contains(metrics, m => m.MeterName == "Npgsql");
        Assert.Equal(0, GaugeValue(metrics, "computebank.bus.queue.depth"));
    }

    private static long Sum(IReadOnlyList<Metric> metrics, string name, params (string Key, string Value)[] tags) =>
        Points(metrics, name, tags).Sum(p => p.GetSumLong());

    private static long HistogramCount(IReadOnlyList<Metric> metrics, string name, params (string Key, string Value)[] tags) =>
        Points(metrics, name, tags).Sum(p => p.GetHistogramCount());

    private static long GaugeValue(IReadOnlyList<Metric> metrics, string name) =>
        Assert.Single(Points(metrics, name, [])).GetGaugeLastValueLong();

    private static List<MetricPoint> Points(IReadOnlyList<Metric> metrics, string name, (string Key, string Value)[] tags)
    {
        var points = new List<MetricPoint>();
        foreach (var metric in metrics.Where(m => m.Name == name))
        {
            foreach (ref readonly var point in metric.GetMetricPoints())
            {
                var pointTags = new Dictionary<string, object?>(StringComparer.Ordinal);
                foreach (var tag in point.Tags)
                {
                    pointTags[tag.Key] = tag.Value;
                }

                if (tags.All(t => pointTags.TryGetValue(t.Key, out var value) && Equals(value, t.Value)))
                {
                    points.Add(point);
                }
            }
        }

        return points;
    }
}
