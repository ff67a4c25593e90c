using System.Globalization;
using System.Text;

namespace RegistryPolicy.Diagnostics;

/// <summary>
/// Text from input made safe to show in one line of a diagnostic: control characters, line and paragraph separators and
/// unpaired surrogates become <c>\uXXXX</c>, so no name or key read from a document can break a line of output or forge
/// one; and quotations lifted out of third-party parser messages, which may quote a credential.
/// </summary>
internal static class DisplayText
{
    /// <summary>The longest piece of input text a diagnostic shows; longer text is cut with an ellipsis.</summary>
    public const int MaxShown = 300;

    /// <summary>The text with every character that could break a line escaped, cut to <see cref="MaxShown"/> characters.</summary>
    public static string Escape(string text) => Escape(text, MaxShown);

    /// <summary>The text with every character that could break a line escaped, never cut (diagnostic messages, table cells).</summary>
    public static string EscapeLine(string text) => Escape(text, int.MaxValue);

    private static string Escape(string text, int max)
    {
        bool clean = text.Length <= max;
        foreach (char c in text)
        {
            if (NeedsEscape(c))
            {
                clean = false;
                break;
            }
        }

        if (clean)
        {
            return text;
        }

        var builder = new StringBuilder(Math.Min(text.Length, max) + 8);
        for (int i = 0; i < text.Length && builder.Length < max; i++)
        {
            char c = text[i];
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                builder.Append(c).Append(text[++i]);
            }
            else if (NeedsEscape(c))
            {
                builder.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
            }
            else
            {
                builder.Append(c);
            }
        }

        return builder.Length < text.Length || text.Length > max ? builder.Append('…').ToString() : builder.ToString();
    }

    /// <summary>Whether the text would be shown unchanged by <see cref="Escape(string)"/>.</summary>
    public static bool IsSafe(string text) => ReferenceEquals(Escape(text), text);

    /// <summary>A third-party message with every quoted part ('x', "x") replaced, so it cannot echo the input.</summary>
    public static string WithoutQuotedText(string message)
    {
        var builder = new StringBuilder(message.Length);
        int i = 0;
        while (i < message.Length)
        {
            char c = message[i];
            int close = c is '\'' or '"' ? message.IndexOf(c, i + 1) : -1;
            // An apostrophe inside a word ("didn't") is not a quotation.
            bool opens = close > i && (i == 0 || !char.IsLetter(message[i - 1]));
            if (opens)
            {
                builder.Append("(text not shown)");
                i = close + 1;
                continue;
            }

            builder.Append(NeedsEscape(c) ? ' ' : c);
            i++;
        }

        return builder.ToString();
    }

    /// <summary>
    /// A System.Text.Json reader message without the input it quotes: the reader puts the offending character (or the
    /// start of a literal) in quotes at the start of its message (<c>'x' is invalid after a value</c>); the quoted
    /// characters later in a message are its own ('+' or '-').
    /// </summary>
    public static string WithoutLeadingQuotation(string message)
    {
        if (message.Length > 1 && message[0] == '\'' && message.IndexOf('\'', 1) is int close and > 0)
        {
            return "A character" + message[(close + 1)..];
        }

        return message;
    }

    // Format characters (U+202E and the other bidirectional overrides, U+200B...) change what a terminal shows: escaped too.
    private static bool NeedsEscape(char c) =>
        c < 0x20 || c is (>= '\u007f' and <= '\u009f') or '\u2028' or '\u2029' or '\u0085' || char.IsSurrogate(c) ||
        (c >= '\u00ad' && char.GetUnicodeCategory(c) == System.Globalization.UnicodeCategory.Format);
}
