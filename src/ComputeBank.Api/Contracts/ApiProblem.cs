using System.Text.Json.Serialization;

namespace ComputeBank.Api.Contracts;

/// <summary>
/// Every error (API.md "Errors"): <c>application/problem+json</c> (RFC 9457) with a stable snake_case <c>code</c>;
/// validation errors add <c>errors: { field: [messages] }</c>. Documentation of the shape that
/// <c>CommandReply.Problem</c> and the framework's problem writer produce.
/// </summary>
[JsonNumberHandling(JsonNumberHandling.Strict)]
public sealed record ApiProblem
{
    /// <summary>A URI naming the problem type, such as <c>https://computebank.dev/problems/insufficient-credits</c>.</summary>
    public required string Type { get; init; }

    /// <summary>A short human-readable summary of the problem type.</summary>
    public required string Title { get; init; }

    /// <summary>The HTTP status code.</summary>
    public required int Status { get; init; }

    /// <summary>A human-readable explanation of this occurrence.</summary>
    public string? Detail { get; init; }

    /// <summary>The stable snake_case code clients switch on, such as <c>insufficient_credits</c> or <c>validation_failed</c>.</summary>
    public required string Code { get; init; }

    /// <summary>Only with <c>validation_failed</c>: every invalid field (nested ones as <c>settlement.amount</c>) with its messages.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyDictionary<string, string[]>? Errors { get; init; }

    /// <summary>Only on problems written by the web framework itself (routing's 404, 405, 415): the request's trace id.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? TraceId { get; init; }
}
