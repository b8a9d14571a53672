using ComputeBank.Api.Features.SubmittingAsynchronously;
using System.Security.Claims;
using System.Text.Json.Nodes;
using ComputeBank.Api.Security;
using ComputeBank.Messaging.Durable;

namespace ComputeBank.Api.Features.GettingOperations;

/// <summary>
/// Who may read an operation, by the rule of <c>GET /accounts/{id}</c>: auditors and operators read every operation; a
/// provider or consumer reads an operation only through an account of its own that the operation acted on (the account
/// its command debits, places a hold on or opens) or that its result touched. What the caller is shown of a result is
/// cut to its own accounts, so the receiver of a transfer never sees the sender's balances. Everyone else is answered
/// exactly as for an id that was never used, so the answer is no oracle of which operation ids exist.
/// </summary>
public static class OperationVisibility
{
    /// <summary>The body to show <paramref name="user"/>, or null when the operation must look unknown to it.</summary>
    public static async Task<JsonObject?> ForCallerAsync(
        JsonObject body, OperationStatus status, ClaimsPrincipal user, IServiceProvider services, CancellationToken cancellationToken)
    {
        if (ReadAuthorization.ReadsEverything(user, services.GetRequiredService<AuthSettings>()))
        {
            return body;
        }

        var owner = user.FindFirst(ClaimNames.Owner)?.Value;
        if (string.IsNullOrEmpty(owner))
        {
            return null;
        }

        var rule = ActingRule(status, services);
        var touched = (status.Response?["accounts"] as JsonArray)?
            .Select(a => a?["accountId"]?.GetValue<string>())
            .OfType<string>()
            .ToList() ?? [];
        var known = await services.GetRequiredService<OwnershipReader>().ReadAsync(
            [.. touched, .. rule?.AccountId is { } account ? [account] : Array.Empty<string>()],
            rule?.Resource is { } resource ? [resource] : [],
            cancellationToken);

        var own = touched.Where(id => known.Accounts.GetValueOrDefault(id)?.OwnerId == owner).ToHashSet(StringComparer.Ordinal);
        var actor = rule is not null && IsActor(rule, owner, known);
        if (!actor && own.Count == 0)
        {
            return null;
        }

        // The acting owner sees a problem its command got; an owner the result merely touched sees only a success, and
        // of it only its own accounts.
        if (!actor && status.Status != "succeeded")
        {
            return null;
        }

        if (body["result"]?["accounts"] is JsonArray accounts)
        {
            for (var i = accounts.Count - 1; i >= 0; i--)
            {
                if (accounts[i]?["accountId"]?.GetValue<string>() is not { } id || !own.Contains(id))
                {
                    accounts.RemoveAt(i);
                }
            }
        }

        return body;
    }

    /// <summary>The rule of the queued command (which account or hold it acts on), when the queue still has its body.</summary>
    private static CommandRule? ActingRule(OperationStatus status, IServiceProvider services)
    {
        if (status.Body is null || status.CommandType is null)
        {
            return null;
        }

        var translator = services.GetRequiredService<QueuedCommandTranslator>();
        var (envelope, _) = translator.Translate(new QueuedCommand(Guid.Empty, status.OperationId, status.CommandType, string.Empty, status.Body, status.UserId));
        return envelope is null ? null : CommandRule.Of(envelope.Command);
    }

    private static bool IsActor(CommandRule rule, string owner, Owners known)
    {
        if (rule.OpensFor is { } opens)
        {
            return string.Equals(opens.Owner, owner, StringComparison.Ordinal);
        }

        var account = rule.Resource is { } resource ? known.Resources.GetValueOrDefault(resource)
            : rule.AccountId is { } id ? known.Accounts.GetValueOrDefault(id)
            : null;
        return account is not null && string.Equals(account.OwnerId, owner, StringComparison.Ordinal);
    }
}
