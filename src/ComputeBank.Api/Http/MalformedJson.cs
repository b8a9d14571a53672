using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace ComputeBank.Api.Http;

/// <summary>
/// Says what is wrong with a body that is not JSON in the caller's terms, with where: the reader's own text talks about
/// its options ("Change the reader options", "isFinalBlock") and counts lines from 0. Lines and columns here count from 1;
/// a column counts bytes of the UTF-8 body (the reader's unit), which is the character column for ASCII text.
/// </summary>
internal static partial class MalformedJson
{
    private static readonly (Regex Pattern, Func<Match, string> Say)[] Rewrites =
    [
        (EmptyPattern(), _ => "the body is empty; send one JSON object"),
        (EndInValuePattern(), _ => "the body ends before the JSON is complete (an object or array is not closed)"),
        (EndInStringPattern(), _ => "the body ends inside a string (its closing '\"' is missing)"),
        (OpenAtEndPattern(), _ => "the body ends before every object and array is closed"),
        (TrailingCommaPattern(), m => $"a trailing comma before the end of an {m.Groups[1].Value} is not allowed"),
        (DepthPattern(), _ => $"objects and arrays are nested deeper than {JsonBody.MaxDepth} levels"),
        (AfterValuePattern(), m => $"{m.Groups[1].Value} follows the JSON object; send exactly one JSON value"),
        (DuplicatePattern(), m => $"the property '{m.Groups[1].Value}' appears more than once in the same object"),
        (CommentPattern(), _ => "comments are not allowed in JSON"),
        (SingleQuotePattern(), _ => "strings are quoted with '\"', not with '''"),
        (UnquotedNamePattern(), m => $"property names are quoted with '\"' (found {m.Groups[1].Value})"),
        (ControlCharacterPattern(), m => $"the control character {m.Groups[1].Value} inside a string must be escaped (such as \\n or \\u000A)"),
    ];

    /// <summary>The detail of a 400 <c>malformed_json</c> answer for <paramref name="exception"/>.</summary>
    public static string Describe(JsonException exception)
    {
        var text = PositionSuffix().Replace(exception.Message, string.Empty).Trim();
        var what = Rewrites.Select(r => (r.Say, Match: r.Pattern.Match(text))).FirstOrDefault(r => r.Match.Success) is { Say: not null } rewrite
            ? rewrite.Say(rewrite.Match)
            : Plain(text);
        var where = exception.LineNumber is { } line && exception.BytePositionInLine is { } position
            ? string.Create(CultureInfo.InvariantCulture, $" at line {line + 1}, column {position + 1}")
            : string.Empty;
        return $"The body is not valid JSON{where}: {what.TrimEnd('.')}.";
    }

    /// <summary>A message without a rewrite, less the reader's advice to itself.</summary>
    private static string Plain(string text)
    {
        var plain = ReaderJargon().Replace(text, string.Empty).Trim();
        return plain.Length == 0 ? "it is not well-formed" : plain;
    }

    [GeneratedRegex(@"\s*LineNumber: \d+ \| BytePositionInLine: \d+\.?\s*$")]
    private static partial Regex PositionSuffix();

    [GeneratedRegex(@"\s*(Change the reader options\.|which is not supported in this mode|,? ?when isFinalBlock is true|,? ?while isFinalBlock is true)")]
    private static partial Regex ReaderJargon();

    [GeneratedRegex(@"^The input does not contain any JSON tokens")]
    private static partial Regex EmptyPattern();

    [GeneratedRegex(@"^Expected start of a property name or value, but instead reached end of data")]
    private static partial Regex EndInValuePattern();

    [GeneratedRegex(@"^Expected end of string, but instead reached end of data")]
    private static partial Regex EndInStringPattern();

    [GeneratedRegex(@"^Expected depth to be zero at the end of the JSON payload")]
    private static partial Regex OpenAtEndPattern();

    [GeneratedRegex(@"^The JSON (object|array) contains a trailing comma")]
    private static partial Regex TrailingCommaPattern();

    [GeneratedRegex(@"^The maximum configured depth of \d+ has been exceeded")]
    private static partial Regex DepthPattern();

    [GeneratedRegex(@"^('.+') is invalid after a single JSON value")]
    private static partial Regex AfterValuePattern();

    [GeneratedRegex(@"^Duplicate property '(.*)' encountered")]
    private static partial Regex DuplicatePattern();

    [GeneratedRegex(@"^'/' is (invalid after a value|an invalid start of a (value|property name))")]
    private static partial Regex CommentPattern();

    [GeneratedRegex(@"^''' is an invalid start of a (value|property name)")]
    private static partial Regex SingleQuotePattern();

    [GeneratedRegex(@"^('.+') is an invalid start of a property name")]
    private static partial Regex UnquotedNamePattern();

    [GeneratedRegex(@"^'(0x[0-9A-Fa-f]{2})' is invalid within a JSON string")]
    private static partial Regex ControlCharacterPattern();
}
