using System.Text;

namespace RegistryPolicy.Primitives;

/// <summary>
/// Command lines for people to copy and run: every word POSIX-shell quoted unless it is made only of characters no shell
/// treats specially, so a name or value can never end a word, start a command or expand anything.
/// </summary>
internal static class ShellWords
{
    /// <summary>The word as one shell word: as is when it is plainly safe, else in single quotes (a quote inside as <c>'\''</c>).</summary>
    public static string Quote(string word)
    {
        if (word.Length > 0 && IsPlain(word))
        {
            return word;
        }

        return "'" + word.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
    }

    /// <summary>The words joined with spaces, each quoted.</summary>
    public static string Join(params ReadOnlySpan<string> words)
    {
        var text = new StringBuilder();
        foreach (string word in words)
        {
            if (text.Length > 0)
            {
                text.Append(' ');
            }

            text.Append(Quote(word));
        }

        return text.ToString();
    }

    private static bool IsPlain(string word)
    {
        foreach (char c in word)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('_' or '-' or '.' or '/' or ':' or '=' or '@' or '%' or '+' or ','))
            {
                return false;
            }
        }

        return true;
    }
}
