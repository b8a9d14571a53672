using System.Security.Claims;
using ComputeBank.Domain;
using ComputeBank.Messaging;

namespace ComputeBank.Api.Security;

/// <summary>
/// Decides whether the caller may send each of a request's commands: its role, and for owner-scoped roles that the
/// accounts it acts on are its own (token <c>owner</c> == account <c>ownerId</c>). Called by the command adapter for
/// every command, batch items included; a refused command answers its own 403 problem and never reaches the bus.
/// </summary>
public interface ICommandAuthorizer
{
    /// <summary>One entry per command, in order: null when allowed, else the 403 problem to answer.</summary>
    Task<IReadOnlyList<CommandReply?>> AuthorizeAsync(HttpContext http, IReadOnlyList<object> commands, CancellationToken cancellationToken);
}

/// <summary>What one command needs: one of <paramref name="Roles"/>, and for provider and consumer callers the
/// ownership of <paramref name="AccountId"/> (or of the account of <paramref name="Resource"/>, a hold, offer or trade,
/// or the <paramref name="OpensFor"/> owner and kind of an account being opened).</summary>
public sealed record CommandRule(string Action, string[] Roles, string? AccountId = null, OwnedResource? Resource = null, (string Owner, AccountKind Kind)? OpensFor = null)
{
    /// <summary>The rule of a command: its kind's roles (those of its endpoint policy) and ownership
    /// (<see cref="Features.CommandRegistry"/>). Operators run the bank's operations and open nothing; auditors write
    /// nothing; providers and consumers act only on their own accounts of their own kind.</summary>
    public static CommandRule Of(object command) => Features.CommandRegistry.RuleOf(command);
}

/// <summary>The authorizer on the <c>accounts</c>/<c>holds</c> read model; with auth switched off it allows everything.</summary>
public sealed class CommandAuthorizer(OwnershipReader owners, AuthSettings settings, ILogger<CommandAuthorizer> logger) : ICommandAuthorizer
{
    public async Task<IReadOnlyList<CommandReply?>> AuthorizeAsync(HttpContext http, IReadOnlyList<object> commands, CancellationToken cancellationToken)
    {
        var results = new CommandReply?[commands.Count];
        if (!settings.Enabled)
        {
            return results;
        }

        var user = http.User;
        var roles = user.FindAll(ClaimNames.Role).Select(c => c.Value).ToHashSet(StringComparer.Ordinal);
        var owner = user.FindFirst(ClaimNames.Owner)?.Value;
        var rules = commands.Select(CommandRule.Of).ToList();
        var scoped = rules.Where(r => r.Roles.Any(roles.Contains)).ToList();
        var known = await owners.ReadAsync(
            [.. scoped.Where(r => r.AccountId is not null).Select(r => r.AccountId!)],
            [.. scoped.Where(r => r.Resource is not null).Select(r => r.Resource!)],
            cancellationToken);
        for (var i = 0; i < rules.Count; i++)
        {
            if (Refusal(rules[i], roles, owner, known) is { } reason)
            {
                results[i] = Forbidden(http, user, reason, logger);
            }
        }

        return results;
    }

    /// <summary>Why the caller may not, or null when it may.</summary>
    public static string? Refusal(CommandRule rule, IReadOnlySet<string> roles, string? owner, Owners known)
    {
        var allowed = rule.Roles.Where(roles.Contains).ToList();
        if (allowed.Count == 0)
        {
            return $"the role {Describe(roles)} may not {rule.Action}";
        }

        // Operators run the bank; the settlement system confirms payments of any trade. Neither acts as an account's owner.
        if (allowed.Contains(Roles.Operator, StringComparer.Ordinal) || allowed.Contains(Roles.Settlement, StringComparer.Ordinal))
        {
            return null;
        }

        if (string.IsNullOrEmpty(owner))
        {
            return "the token names no owner";
        }

        if (rule.OpensFor is { } opens)
        {
            if (!string.Equals(opens.Owner, owner, StringComparison.Ordinal))
            {
                return "an account may be opened only for the token's own owner";
            }

            return allowed.Contains(KindName(opens.Kind), StringComparer.Ordinal) ? null : $"the role {Describe(roles)} may not open a {KindName(opens.Kind)} account";
        }

        var (what, id, account) = rule.Resource is { } resource
            ? (resource.What, resource.Id, known.Resources.GetValueOrDefault(resource))
            : ("account", rule.AccountId, rule.AccountId is null ? null : known.Accounts.GetValueOrDefault(rule.AccountId));
        if (id is null)
        {
            return $"the role {Describe(roles)} may not {rule.Action}";
        }

        // A missing account answers like another owner's, so that refusals do not tell which ids exist.
        if (account is null || !string.Equals(account.OwnerId, owner, StringComparison.Ordinal))
        {
            return $"{what} '{id}' is not one of the caller's";
        }

        return allowed.Contains(account.Kind, StringComparer.Ordinal) ? null : $"the role {Describe(roles)} may not {rule.Action} on a {account.Kind} account";
    }

    /// <summary>The 403 problem, logged with the caller's sub, role and the path (never the token).</summary>
    public static CommandReply Forbidden(HttpContext http, ClaimsPrincipal user, string reason, ILogger logger)
    {
        SecurityLog.Forbidden(logger, user.FindFirst(ClaimNames.Subject)?.Value ?? "-", Describe(user.FindAll(ClaimNames.Role).Select(c => c.Value)),
            http.Request.Method, http.Request.Path.Value ?? string.Empty, reason);
        return CommandReply.Problem(StatusCodes.Status403Forbidden, "forbidden", "Forbidden", $"Not allowed for this caller: {reason}.");
    }

    private static string KindName(AccountKind kind) => kind.ToString().ToLowerInvariant();

    private static string Describe(IEnumerable<string> roles)
    {
        var list = roles.Order(StringComparer.Ordinal).ToList();
        return list.Count == 0 ? "(none)" : string.Join("|", list);
    }
}

/// <summary>The one place the command adapter calls the authorizer: single commands and batch items.</summary>
internal static class CommandSecurity
{
    /// <summary>The 403 reply of a refused command, or null when the caller may send it.</summary>
    public static async Task<CommandReply?> RefusalAsync(HttpContext http, CommandEnvelope envelope, CancellationToken cancellationToken)
    {
        var authorizer = http.RequestServices.GetRequiredService<ICommandAuthorizer>();
        return (await authorizer.AuthorizeAsync(http, [envelope.Command], cancellationToken))[0];
    }

    /// <summary>Checks every readable batch item at once; a refused item gets its 403 reply and leaves the list to send.</summary>
    public static async Task RefuseUnauthorizedAsync(HttpContext http, CommandReply?[] replies, List<(int Index, CommandEnvelope Envelope)> envelopes, CancellationToken cancellationToken)
    {
        if (envelopes.Count == 0)
        {
            return;
        }

        var authorizer = http.RequestServices.GetRequiredService<ICommandAuthorizer>();
        var refusals = await authorizer.AuthorizeAsync(http, [.. envelopes.Select(e => e.Envelope.Command)], cancellationToken);
        for (var i = envelopes.Count - 1; i >= 0; i--)
        {
            if (refusals[i] is { } refused)
            {
                replies[envelopes[i].Index] = refused;
                envelopes.RemoveAt(i);
            }
        }
    }
}
