using System.Text.Json;
using System.Text.Json.Nodes;
using ComputeBank.Api.Http;
using ComputeBank.Api.Security;
using ComputeBank.Domain;
using ComputeBank.Messaging;

namespace ComputeBank.Api.Features.SubmittingBatches;

/// <summary>
/// POST /api/v1/commands/batch: up to 8,190 commands <c>{type, body}</c>, answered 200 with one result or problem per
/// command, in order. Non-atomic: each command stands alone (and joins the same group commits as single commands).
/// <c>atomic: true</c>: all take effect in one transaction or none does.
/// </summary>
public static class SubmitBatchEndpoint
{
    public const int MaxCommands = 8190;

    /// <summary>Body limit of a batch: room for 8,190 commands of about 1 KiB each.</summary>
    public const long MaxBatchBytes = 8 * 1024 * 1024;

    public static void Map(IEndpointRouteBuilder api) =>
        api.MapPost("/commands/batch", (HttpContext http, LedgerCatalogue catalogue, LedgerCommands ledger, TimeProvider time, CancellationToken ct) =>
                SubmitAsync(http, CommandRegistry.OfferedByType, catalogue, ledger, time, ct))
            .WithName("SubmitBatch")
            .RequireAuthorization(Policies.Writer)
            .WithTags(ApiDocs.CommandsTag)
            .WithSummary("Submit a batch of commands")
            .WithDescription("Up to 8,190 commands {type, body}, answered 200 with one result or problem per command, in order. " +
                             "Non-atomic (the default): each command stands alone. atomic: true: all take effect in one transaction " +
                             "or none does, and the others answer 422 batch_aborted.")
            .Accepts<BatchRequest>(ApiDocs.Json)
            .Produces<BatchResponse>(StatusCodes.Status200OK, ApiDocs.Json)
            .WithMetadata(new ApiDocs.RespondAsync(typeof(BatchResponse)))
            .ProducesProblems(StatusCodes.Status400BadRequest, "validation_failed", "malformed_json")
            .ProducesProblems(StatusCodes.Status413PayloadTooLarge, "payload_too_large")
            .ProducesProblems(StatusCodes.Status415UnsupportedMediaType, "unsupported_media_type");

    private static async Task<IResult> SubmitAsync(
        HttpContext http, IReadOnlyDictionary<string, CommandKind> kinds, LedgerCatalogue catalogue, LedgerCommands ledger, TimeProvider time, CancellationToken cancellationToken)
    {
        var (document, problem) = await JsonBody.ReadAsync(http.Request, MaxBatchBytes, cancellationToken);
        if (problem is not null)
        {
            return problem;
        }

        using var _ = document;
        var (atomic, commands, errors) = ReadBatch(document!.RootElement);
        if (errors.Count > 0)
        {
            return Problems.Validation(errors);
        }

        var (replies, envelopes) = ReadItems(commands, kinds, catalogue, CommandEndpoints.ContextOf(http, time));
        await CommandSecurity.RefuseUnauthorizedAsync(http, replies, envelopes, cancellationToken);
        await AnswerAsync(http, ledger, atomic, commands, replies, envelopes, cancellationToken);
        return new BatchResult(atomic, replies!, http.Response.Headers.ContainsKey("Preference-Applied") ? StatusCodes.Status202Accepted : StatusCodes.Status200OK);
    }

    /// <summary>The batch's own fields; each item's body is read by its kind, as on the command's own endpoint.</summary>
    private static (bool Atomic, JsonElement Commands, Dictionary<string, string[]> Errors) ReadBatch(JsonElement root)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        var atomic = false;
        if (root.TryGetProperty("atomic", out var atomicValue) && atomicValue.ValueKind != JsonValueKind.Null)
        {
            if (atomicValue.ValueKind is JsonValueKind.True or JsonValueKind.False)
            {
                atomic = atomicValue.GetBoolean();
            }
            else
            {
                errors["atomic"] = ["must be true or false"];
            }
        }

        if (!root.TryGetProperty("commands", out var commands) || commands.ValueKind != JsonValueKind.Array)
        {
            errors["commands"] = ["is required: an array of {type, body}"];
        }
        else if (commands.GetArrayLength() is 0 or > MaxCommands)
        {
            errors["commands"] = [$"must hold 1 to {MaxCommands} commands"];
        }

        return (atomic, commands, errors);
    }

    /// <summary>Every item read into an envelope for the bus, or answered by its validation problem.</summary>
    private static (CommandReply?[] Replies, List<(int Index, CommandEnvelope Envelope)> Envelopes) ReadItems(
        JsonElement commands, IReadOnlyDictionary<string, CommandKind> kinds, LedgerCatalogue catalogue, CommandContext context)
    {
        var replies = new CommandReply?[commands.GetArrayLength()];
        var envelopes = new List<(int Index, CommandEnvelope Envelope)>();
        var index = 0;
        foreach (var item in commands.EnumerateArray())
        {
            var (envelope, invalid) = ReadItem(item, kinds, catalogue, context);
            if (envelope is null)
            {
                replies[index] = invalid;
            }
            else
            {
                envelopes.Add((index, envelope));
            }

            index++;
        }

        return (replies, envelopes);
    }

    /// <summary>Fills in the answers of the items still unanswered: an atomic batch with a refused item aborts whole;
    /// otherwise the commands are queued (Prefer: respond-async, non-atomic only) or sent together.</summary>
    private static async Task AnswerAsync(
        HttpContext http, LedgerCommands ledger, bool atomic, JsonElement commands, CommandReply?[] replies,
        List<(int Index, CommandEnvelope Envelope)> envelopes, CancellationToken cancellationToken)
    {
        if (atomic && envelopes.Count < replies.Length)
        {
            var refused = Array.FindIndex(replies, r => r is not null);
            for (var i = 0; i < replies.Length; i++)
            {
                replies[i] ??= CommandReply.Problem(422, "batch_aborted", "Atomic batch aborted",
                    $"Not applied: command {refused} of the atomic batch was refused, so none of the batch took effect.");
            }
        }
        else if (envelopes.Count > 0 && SubmittingAsynchronously.AsyncSubmission.Requested(http.Request))
        {
            // Non-atomic batches honour Prefer: respond-async, each command queued on its own (atomic ones answer synchronously).
            var accepted = await SubmittingAsynchronously.AsyncSubmission.AcceptManyAsync(http,
                [.. envelopes.Select(e => (commands[e.Index].GetProperty("type").GetString()!, e.Envelope, JsonObject.Create(commands[e.Index].GetProperty("body").Clone())!))],
                cancellationToken);
            for (var i = 0; i < envelopes.Count; i++)
            {
                replies[envelopes[i].Index] = accepted[i];
            }

            http.Response.Headers["Preference-Applied"] = "respond-async";
        }
        else if (envelopes.Count > 0)
        {
            var sent = await ledger.SendManyAsync([.. envelopes.Select(e => e.Envelope)], atomic, cancellationToken);
            for (var i = 0; i < envelopes.Count; i++)
            {
                replies[envelopes[i].Index] = sent[i];
            }
        }
    }

    private static (CommandEnvelope? Envelope, CommandReply? Problem) ReadItem(
        JsonElement item, IReadOnlyDictionary<string, CommandKind> kinds, LedgerCatalogue catalogue, CommandContext context)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        if (item.ValueKind != JsonValueKind.Object)
        {
            errors["item"] = ["must be an object {type, body}"];
        }
        else if (!item.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String || !kinds.TryGetValue(type.GetString()!, out var kind))
        {
            errors["type"] = [$"must be one of: {string.Join(", ", kinds.Keys.Order(StringComparer.Ordinal))}"];
        }
        else if (!item.TryGetProperty("body", out var body) || body.ValueKind != JsonValueKind.Object)
        {
            errors["body"] = ["is required: the command's JSON object"];
        }
        else
        {
            return CommandEndpoints.Read(kind, body, catalogue, context);
        }

        return (null, CommandEndpoints.ValidationProblem(errors));
    }
}

/// <summary>
/// Writes a <see cref="BatchResponse"/> (the documented shape) straight to the response: each command's answer is
/// copied as the UTF-8 JSON its reply already holds, instead of being cloned into a node tree and serialised again.
/// The approval tests of both batch kinds pin the output to the contract.
/// </summary>
internal sealed class BatchResult(bool atomic, IReadOnlyList<CommandReply> replies, int statusCode) : IResult, IStatusCodeHttpResult
{
    private const int FlushThreshold = 32 * 1024;

    public int? StatusCode => statusCode;

    public async Task ExecuteAsync(HttpContext httpContext)
    {
        var response = httpContext.Response;
        response.StatusCode = statusCode;
        response.ContentType = "application/json; charset=utf-8";
        var succeeded = replies.Count(r => r.Succeeded);
        await using var writer = new Utf8JsonWriter(response.BodyWriter);
        writer.WriteStartObject();
        writer.WriteBoolean("atomic", atomic);
        writer.WriteNumber("succeeded", succeeded);
        writer.WriteNumber("failed", replies.Count - succeeded);
        writer.WriteStartArray("results");
        foreach (var reply in replies)
        {
            writer.WriteStartObject();
            writer.WriteNumber("status", reply.Status);
            writer.WriteBoolean("replayed", reply.Replayed);
            writer.WritePropertyName(reply.Succeeded ? "result" : "problem");
            writer.WriteRawValue(reply.Json, skipInputValidation: true);
            writer.WriteEndObject();
            if (writer.BytesPending > FlushThreshold)
            {
                writer.Flush();
                await response.BodyWriter.FlushAsync(httpContext.RequestAborted);
            }
        }

        writer.WriteEndArray();
        writer.WriteEndObject();
        writer.Flush();
        await response.BodyWriter.FlushAsync(httpContext.RequestAborted);
    }
}
