using System.Text.Json;
using System.Text.Json.Nodes;
using ComputeBank.Api.Http;
using ComputeBank.Api.Security;
using ComputeBank.Domain;
using ComputeBank.Messaging;

namespace ComputeBank.Api.Features;

/// <summary>
/// The thin HTTP adapter every command endpoint shares: read the JSON body (with route values) into the kind's request
/// record, turn it into a domain command, hand it to Wolverine (<see cref="LedgerCommands"/>), answer its reply. No business logic lives here.
/// </summary>
internal static class CommandEndpoints
{
    /// <summary>Body limit of a single command.</summary>
    public const long MaxCommandBytes = 64 * 1024;

    /// <summary>Maps the endpoint of every offered command kind, with its policy and documentation.</summary>
    public static void MapCommands(this IEndpointRouteBuilder api)
    {
        foreach (var kind in CommandRegistry.Offered)
        {
            var route = kind.Route!;
            api.MapMethods(route.Pattern, [route.Method], (HttpContext http, LedgerCatalogue catalogue, LedgerCommands commands, TimeProvider time, CancellationToken ct) =>
                    HandleAsync(http, kind, catalogue, commands, time, ct))
                .WithName(route.Name)
                .RequireAuthorization(kind.Policy!)
                .DocumentCommand(kind);
        }
    }

    public static async Task<IResult> HandleAsync(
        HttpContext http, CommandKind kind, LedgerCatalogue catalogue, LedgerCommands commands, TimeProvider time, CancellationToken cancellationToken)
    {
        JsonObject body;
        if (kind.Shape.BodyOptional && (http.Request.ContentLength ?? 0) == 0 && !http.Request.HasJsonContentType())
        {
            body = [];
        }
        else
        {
            var (document, problem) = await JsonBody.ReadAsync(http.Request, MaxCommandBytes, cancellationToken);
            if (problem is not null)
            {
                return problem;
            }

            using (document)
            {
                body = JsonObject.Create(document!.RootElement.Clone())!;
            }
        }

        foreach (var (key, value) in http.Request.RouteValues)
        {
            body[key] = value?.ToString();
        }

        var context = ContextOf(http, time);
        var (envelope, invalid) = Read(kind, JsonSerializer.SerializeToElement(body), catalogue, context);
        if (invalid is not null)
        {
            return new ReplyResult(invalid);
        }

        if (await CommandSecurity.RefusalAsync(http, envelope!, cancellationToken) is { } refused)
        {
            return new ReplyResult(refused);
        }

        if (SubmittingAsynchronously.AsyncSubmission.Requested(http.Request))
        {
            return await SubmittingAsynchronously.AsyncSubmission.AcceptAsync(http, kind, envelope!, body, cancellationToken);
        }

        var reply = await commands.SendAsync(envelope!, cancellationToken);
        return new ReplyResult(reply);
    }

    public static CommandContext ContextOf(HttpContext http, TimeProvider time) =>
        new(time.GetUtcNow(), http.User.Identity?.Name, http.Request.Headers["Idempotency-Key"].FirstOrDefault());

    /// <summary>Reads one command body; either an envelope for the bus or a 400 problem listing every bad field.</summary>
    public static (CommandEnvelope? Envelope, CommandReply? Problem) Read(CommandKind kind, JsonElement body, LedgerCatalogue catalogue, CommandContext context)
    {
        var (command, errors) = kind.Read(body, catalogue, context);
        if (command is null)
        {
            return (null, ValidationProblem(errors));
        }

        var envelope = new CommandEnvelope(command.OperationId.Value, kind.Type, CommandFingerprint.Of(command), command, context.UserId)
        {
            CorrelationId = System.Diagnostics.Activity.Current?.TraceId.ToString(),
            CausationId = System.Diagnostics.Activity.Current?.SpanId.ToString(),
        };
        return (envelope, null);
    }

    public static CommandReply ValidationProblem(IReadOnlyDictionary<string, string[]> errors) =>
        CommandReply.Problem(StatusCodes.Status400BadRequest, "validation_failed", "The request is not valid",
            "One or more fields are missing or invalid; see errors.", new JsonObject { ["errors"] = Problems.ErrorsNode(errors) });
}
