using System.Security.Cryptography;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace ComputeBank.Api.Security;

/// <summary>
/// Tokens for local use and tests: an HS256 key kept in the git-ignored data folder, and tokens minted with it for a
/// role and owner (the CLI's <c>token --role provider --owner acme</c> prints one). Never logs a key or a token.
/// </summary>
public static class DevTokens
{
    /// <summary>File name of the generated key inside the data folder (base64, mode 600).</summary>
    public const string KeyFileName = "jwt-signing-key";

    /// <summary>Size of a generated key: HS256 needs at least 32 bytes.</summary>
    public const int KeyBytes = 64;

    /// <summary>Mints a signed token with claims <c>sub</c>, <c>role</c> and <c>owner</c>.</summary>
    /// <param name="role">One of <see cref="Roles.All"/>.</param>
    /// <param name="owner">The party id whose accounts the token may act on (may be empty for auditors and operators).</param>
    /// <param name="lifetime">Time until <c>exp</c>; negative mints an already expired token (for tests).</param>
    /// <param name="key">The HS256 key bytes (at least 32).</param>
    /// <param name="issuer">The <c>iss</c> claim; must match the service's <c>ComputeBank:Auth:Issuer</c>.</param>
    /// <param name="audience">The <c>aud</c> claim; must match the service's <c>ComputeBank:Auth:Audience</c>.</param>
    /// <param name="subject">The <c>sub</c> claim; by default <c>{owner}/{role}</c>.</param>
    /// <param name="now">The issue time (default: now).</param>
    public static string Mint(string role, string owner, TimeSpan lifetime, byte[] key,
        string issuer = AuthSettings.DefaultIssuer, string audience = AuthSettings.DefaultAudience, string? subject = null, DateTimeOffset? now = null)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (!Roles.All.Contains(role, StringComparer.Ordinal))
        {
            throw new ArgumentException($"Unknown role '{role}'; known: {string.Join(", ", Roles.All)}.", nameof(role));
        }

        if (key.Length < 32)
        {
            throw new ArgumentException("An HS256 key must be at least 32 bytes.", nameof(key));
        }

        var issuedAt = (now ?? DateTimeOffset.UtcNow).UtcDateTime;
        var expires = issuedAt + lifetime;
        var notBefore = lifetime < TimeSpan.Zero ? expires - TimeSpan.FromMinutes(1) : issuedAt;
        var descriptor = new SecurityTokenDescriptor
        {
            Issuer = issuer,
            Audience = audience,
            IssuedAt = notBefore,
            NotBefore = notBefore,
            Expires = expires,
            Claims = new Dictionary<string, object>(StringComparer.Ordinal)
            {
                [ClaimNames.Subject] = subject ?? $"{owner}/{role}",
                [ClaimNames.Role] = role,
                [ClaimNames.Owner] = owner,
            },
            SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(key), SecurityAlgorithms.HmacSha256),
        };
        return new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(descriptor);
    }

    /// <summary>
    /// The dev key of <paramref name="dataDirectory"/>: read from <see cref="KeyFileName"/>, or generated there on first
    /// use (owner-only permissions). Two processes starting at once agree on one key (the file is created exclusively).
    /// </summary>
    public static byte[] LoadOrCreateSigningKey(string dataDirectory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(dataDirectory);
        var path = Path.Combine(dataDirectory, KeyFileName);
        if (File.Exists(path))
        {
            return Read(path);
        }

        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(dataDirectory);
        }
        else
        {
            Directory.CreateDirectory(dataDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        var key = RandomNumberGenerator.GetBytes(KeyBytes);
        try
        {
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
            if (!OperatingSystem.IsWindows())
            {
                options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            }

            using (var writer = new StreamWriter(path, System.Text.Encoding.ASCII, options))
            {
                writer.Write(Convert.ToBase64String(key));
            }

            return key;
        }
        catch (IOException) when (File.Exists(path))
        {
            // Another process created it first: use its key.
            Thread.Sleep(50);
            return Read(path);
        }
    }

    /// <summary>Decodes a base64 key (configuration or key file), refusing one too short for HS256.</summary>
    public static byte[] DecodeKey(string base64, string source)
    {
        byte[] key;
        try
        {
            key = Convert.FromBase64String(base64.Trim());
        }
        catch (FormatException)
        {
            throw new InvalidOperationException($"The signing key from {source} is not base64.");
        }

        return key.Length >= 32 ? key : throw new InvalidOperationException($"The signing key from {source} is shorter than 32 bytes (HS256 needs 256 bits).");
    }

    private static byte[] Read(string path) => DecodeKey(File.ReadAllText(path), path);
}
