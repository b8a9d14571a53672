using ComputeBank.Api.Http;
using ComputeBank.Domain;

namespace ComputeBank.Api.Features;

/// <summary>What a command is told besides its body: the time it is decided at, who sent it, and the
/// <c>Idempotency-Key</c> header for the few commands whose body has no operation id of its own.</summary>
public sealed record CommandContext(DateTimeOffset Now, string? UserId, string? IdempotencyKey);

/// <summary>
/// One kind of command as the API knows it: its name in batches and on the queue (<c>deposit</c>, <c>transfer</c>, ...),
/// the status of its success, and how its JSON body is read into a domain command (null with field errors when it cannot be).
/// </summary>
public sealed record CommandKind(string Type, int SuccessStatus, Func<Fields, CommandContext, LedgerCommand?> Read)
{
    /// <summary>An operation id from a body field, or from the Idempotency-Key header, or else <paramref name="fallback"/>.</summary>
    public static OperationId? OperationIdOf(Fields fields, CommandContext context, string field, Func<string>? fallback = null)
    {
        if (fields.Text(field, required: false) is not null)
        {
            return fields.Value<OperationId>(field);
        }

        var text = context.IdempotencyKey ?? fallback?.Invoke();
        if (text is null)
        {
            return fields.Value<OperationId>(field);
        }

        if (!OperationId.TryParse(text, out var id, out var error))
        {
            fields.Add(field, error ?? "is not a valid operation id");
        }

        return id;
    }
}
