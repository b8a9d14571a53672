using System.Globalization;

namespace ComputeBank.Domain;

/// <summary>
/// The rule of every free-text field (display names, references, owner ids): no control characters (C0, DEL, C1, so
/// no CR, LF, tab or NUL), no line or paragraph separators, and no bidirectional formatting characters (U+061C,
/// U+200E/F, U+202A-E, U+2066-9), which make a log line, a CSV row or an auditor's screen show something other than
/// what is stored.
/// </summary>
public static class FreeText
{
    /// <summary>Why <paramref name="text"/> is refused, or null when it is acceptable.</summary>
    public static string? Problem(string text)
    {
        foreach (var rune in text.EnumerateRunes())
        {
            if (IsRefused(rune))
            {
                return $"must not contain control or bidirectional formatting characters (found U+{rune.Value.ToString("X4", CultureInfo.InvariantCulture)})";
            }
        }

        return null;
    }

    private static bool IsRefused(System.Text.Rune rune) =>
        System.Text.Rune.GetUnicodeCategory(rune) is UnicodeCategory.Control or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator
        || rune.Value is 0x061C or 0x200E or 0x200F or (>= 0x202A and <= 0x202E) or (>= 0x2066 and <= 0x2069);
}
