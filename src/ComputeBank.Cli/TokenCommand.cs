using System.CommandLine;
using ComputeBank.Api.Security;

namespace ComputeBank.Cli;

/// <summary>
/// <c>token --role provider --owner acme [--lifetime 8]</c>: prints just a signed JWT for the local service, made with
/// the same key it uses (<c>--key</c>, else <c>ComputeBank__Auth__SigningKey</c>, else the dev key in the data folder,
/// <c>$COMPUTEBANK_DATA</c>, which deploy/local/cli sets). Touches no database.
/// </summary>
public static class TokenCommand
{
    public const string KeyVariable = "ComputeBank__Auth__SigningKey";
    public const string DataVariable = "COMPUTEBANK_DATA";

    public static Command Create(CliOptions options)
    {
        var role = new Option<string>("--role") { Description = $"One of: {string.Join(", ", Roles.All)}.", Required = true };
        var owner = new Option<string>("--owner") { Description = "The party id whose accounts the token may act on (the accounts' ownerId).", DefaultValueFactory = _ => "" };
        var hours = new Option<int>("--lifetime-hours") { Description = "Hours until the token expires.", DefaultValueFactory = _ => 8 };
        var key = new Option<string?>("--key") { Description = $"Base64 HS256 signing key (default: ${KeyVariable}, else the dev key in ${DataVariable})." };
        var token = new Command("token", "Mint a bearer token for the local service (development and samples).") { role, owner, hours, key };
        token.SetAction(async (parsed, ct) =>
        {
            var configured = parsed.GetValue(key) ?? Environment.GetEnvironmentVariable(KeyVariable);
            byte[] signingKey;
            if (!string.IsNullOrWhiteSpace(configured))
            {
                signingKey = DevTokens.DecodeKey(configured, "--key");
            }
            else if (Environment.GetEnvironmentVariable(DataVariable) is { Length: > 0 } data)
            {
                signingKey = DevTokens.LoadOrCreateSigningKey(data);
            }
            else
            {
                throw new ArgumentException($"No signing key: pass --key, set {KeyVariable}, or set {DataVariable} to the service's data folder (deploy/local/cli does).");
            }

            var lifetime = parsed.GetValue(hours);
            if (lifetime is < 1 or > 24 * 30)
            {
                throw new ArgumentException("--lifetime-hours must be between 1 and 720.");
            }

            var jwt = DevTokens.Mint(parsed.GetValue(role)!, parsed.GetValue(owner) ?? "", TimeSpan.FromHours(lifetime), signingKey);
            await parsed.InvocationConfiguration.Output.WriteLineAsync(jwt.AsMemory(), ct);
            return CliApp.Ok;
        });
        return token;
    }
}
