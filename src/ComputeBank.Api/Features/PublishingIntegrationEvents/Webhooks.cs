using System.Security.Cryptography;
using System.Text;
using ComputeBank.Messaging.Durable;

namespace ComputeBank.Api.Features.PublishingIntegrationEvents;

/// <summary>One webhook subscriber (section <c>ComputeBank:Webhooks:Subscribers</c>).</summary>
public sealed class WebhookSubscriber
{
    /// <summary>The name its deliveries carry (and its spans and logs show); the URL when not set.</summary>
    public string? Name { get; set; }

    public string Url { get; set; } = "";

    /// <summary>Key of the HMAC-SHA256 signature of every delivery.</summary>
    public string Secret { get; set; } = "";

    /// <summary>Event types it receives; all when empty.</summary>
    public List<string> EventTypes { get; set; } = [];

    public string Key => string.IsNullOrEmpty(Name) ? Url : Name;

    public bool Wants(string eventType) => EventTypes.Count == 0 || EventTypes.Contains(eventType, StringComparer.Ordinal);
}

/// <summary>Webhook delivery settings (section <c>ComputeBank:Webhooks</c>).</summary>
public sealed class WebhookOptions
{
    public List<WebhookSubscriber> Subscribers { get; set; } = [];

    /// <summary>Deliveries a node sends at once (the parallelism of its durable local queue <c>webhooks</c>).</summary>
    public int Parallelism { get; set; } = 20;

    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>First retry delay; it doubles per attempt (with jitter) up to <see cref="RetryMaxDelay"/>.</summary>
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromSeconds(1);

    public TimeSpan RetryMaxDelay { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Attempts before a delivery is parked in Wolverine's dead letters for an operator; about a day with the
    /// defaults.</summary>
    public int MaxAttempts { get; set; } = 150;

    /// <summary>The wait after failed attempt <paramref name="attempts"/> (<see cref="Backoff.Cooldown"/>).</summary>
    public TimeSpan Cooldown(int attempts) => Backoff.Cooldown(RetryBaseDelay, RetryMaxDelay, attempts);
}

/// <summary>
/// The signature scheme of deliveries: header <c>ComputeBank-Signature: t={unix seconds},v1={hex HMAC-SHA256}</c> of
/// <c>"{t}.{body}"</c> with the subscriber's secret (the timestamp is signed too, so an old delivery cannot be replayed
/// with a fresh time).
/// </summary>
public static class WebhookSignature
{
    public const string Header = "ComputeBank-Signature";
    public const string EventIdHeader = "ComputeBank-Event-Id";
    public const string EventTypeHeader = "ComputeBank-Event-Type";

    public static string Sign(string secret, long timestamp, string body)
    {
        var mac = HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes($"{timestamp.ToString(System.Globalization.CultureInfo.InvariantCulture)}.{body}"));
        return $"t={timestamp.ToString(System.Globalization.CultureInfo.InvariantCulture)},v1={Convert.ToHexStringLower(mac)}";
    }

    /// <summary>Whether <paramref name="header"/> is a valid signature of <paramref name="body"/> (constant-time comparison).</summary>
    public static bool Verify(string secret, string? header, string body)
    {
        if (header is null)
        {
            return false;
        }

        var parts = header.Split(',').Select(p => p.Split('=', 2)).Where(p => p.Length == 2).ToDictionary(p => p[0], p => p[1], StringComparer.Ordinal);
        if (!parts.TryGetValue("t", out var t) || !long.TryParse(t, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var timestamp)
            || !parts.ContainsKey("v1"))
        {
            return false;
        }

        return CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(Sign(secret, timestamp, body)), Encoding.ASCII.GetBytes(header));
    }
}
