using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace ComputeBank.Testing;

/// <summary>
/// Approval files in Verify's conventions: <c>{Class}.{Method}.verified.json</c> beside the test file is committed;
/// a mismatch writes <c>{Class}.{Method}.received.json</c> (git-ignored) and fails with a readable line diff.
/// Guids and ISO timestamps are scrubbed to stable numbered placeholders (<c>Guid_1</c>, <c>DateTime_1</c>).
/// Set <c>COMPUTEBANK_ACCEPT=1</c> to accept every received file as the new verified one.
/// </summary>
public static partial class Approvals
{
    public static string Verify(
        object? value,
        Func<string, string>? scrubber = null,
        [CallerFilePath] string sourceFile = "",
        [CallerMemberName] string method = "")
    {
        var json = value switch
        {
            string s => JsonNode.Parse(s)?.ToJsonString(Indented) ?? "null",
            JsonNode node => node.ToJsonString(Indented),
            _ => JsonSerializer.Serialize(value, Indented),
        };
        return VerifyText(json, "json", scrubber, sourceFile, method);
    }

    public static string VerifyText(
        string text,
        string extension = "txt",
        Func<string, string>? scrubber = null,
        [CallerFilePath] string sourceFile = "",
        [CallerMemberName] string method = "")
    {
        var className = Path.GetFileNameWithoutExtension(sourceFile).Split('.')[0];
        var directory = Path.GetDirectoryName(sourceFile)!;
        var stem = Path.Combine(directory, $"{className}.{method}");
        var scrubbed = Normalize(Scrub(scrubber is null ? text : scrubber(text)));
        var verifiedPath = $"{stem}.verified.{extension}";
        var receivedPath = $"{stem}.received.{extension}";
        var verified = File.Exists(verifiedPath) ? Normalize(File.ReadAllText(verifiedPath)) : null;
        if (verified == scrubbed)
        {
            File.Delete(receivedPath);
            return scrubbed;
        }

        if (Environment.GetEnvironmentVariable("COMPUTEBANK_ACCEPT") == "1")
        {
            File.WriteAllText(verifiedPath, scrubbed);
            File.Delete(receivedPath);
            return scrubbed;
        }

        File.WriteAllText(receivedPath, scrubbed);
        throw new ApprovalException(verified is null
            ? $"No approved file yet. Review {receivedPath} and rename it to {Path.GetFileName(verifiedPath)} to approve it.\n\n{scrubbed}"
            : $"Received differs from {Path.GetFileName(verifiedPath)} (received written to {receivedPath}):\n{Diff(verified, scrubbed)}");
    }

    /// <summary>Replaces guids and ISO 8601 timestamps by numbered placeholders, the same value keeping its number.</summary>
    public static string Scrub(string text)
    {
        text = ReplaceNumbered(text, GuidPattern(), "Guid");
        return ReplaceNumbered(text, TimestampPattern(), "DateTime");
    }

    /// <summary>A unified-style line diff: lines only in the approved file start with '-', received ones with '+'.</summary>
    public static string Diff(string expected, string actual)
    {
        var a = expected.Split('\n');
        var b = actual.Split('\n');
        var lcs = new int[a.Length + 1, b.Length + 1];
        for (var i = a.Length - 1; i >= 0; i--)
        {
            for (var j = b.Length - 1; j >= 0; j--)
            {
                lcs[i, j] = a[i] == b[j] ? lcs[i + 1, j + 1] + 1 : Math.Max(lcs[i + 1, j], lcs[i, j + 1]);
            }
        }

        var diff = new StringBuilder();
        int x = 0, y = 0;
        while (x < a.Length || y < b.Length)
        {
            if (x < a.Length && y < b.Length && a[x] == b[y])
            {
                x++; y++;
            }
            else if (y < b.Length && (x == a.Length || lcs[x, y + 1] >= lcs[x + 1, y]))
            {
                diff.Append(CultureInfo.InvariantCulture, $"+ {y + 1,4}: {b[y]}\n");
                y++;
            }
            else
            {
                diff.Append(CultureInfo.InvariantCulture, $"- {x + 1,4}: {a[x]}\n");
                x++;
            }
        }

        return diff.ToString();
    }

    private static readonly JsonSerializerOptions Indented = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    private static string Normalize(string text) => text.Replace("\r\n", "\n", StringComparison.Ordinal).TrimEnd('\n') + "\n";

    private static string ReplaceNumbered(string text, Regex pattern, string placeholder)
    {
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        return pattern.Replace(text, m =>
        {
            if (!seen.TryGetValue(m.Value, out var n))
            {
                n = seen.Count + 1;
                seen[m.Value] = n;
            }

            return $"{placeholder}_{n}";
        });
    }

    [GeneratedRegex(@"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b")]
    private static partial Regex GuidPattern();

    [GeneratedRegex(@"\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,7})?(Z|[+-]\d{2}:\d{2})?")]
    private static partial Regex TimestampPattern();
}

/// <summary>An approval mismatch: the message carries the diff and where the received file is.</summary>
public sealed class ApprovalException(string message) : Exception(message);
