using System.Globalization;

namespace RegistryPolicy.Cli;

/// <summary>
/// Writes one compact JSON object to a <see cref="TextWriter"/> without reflection (trimming- and AOT-safe) and without an
/// intermediate buffer, for line-per-record output.
/// </summary>
internal sealed class JsonLineWriter(TextWriter output)
{
    private bool _needsComma;

    public void StartObject()
    {
        WriteCommaIfNeeded();
        output.Write('{');
        _needsComma = false;
    }

    public void EndObject()
    {
        output.Write('}');
        _needsComma = true;
    }

    public void StartArray(string name)
    {
        WriteName(name);
        output.Write('[');
        _needsComma = false;
    }

    public void EndArray()
    {
        output.Write(']');
        _needsComma = true;
    }

    public void StartObject(string name)
    {
        WriteName(name);
        output.Write('{');
        _needsComma = false;
    }

    public void String(string name, string? value)
    {
        WriteName(name);
        WriteStringValue(value);
        _needsComma = true;
    }

    public void StringValue(string? value)
    {
        WriteCommaIfNeeded();
        WriteStringValue(value);
        _needsComma = true;
    }

    public void Boolean(string name, bool value)
    {
        WriteName(name);
        output.Write(value ? "true" : "false");
        _needsComma = true;
    }

    public void Number(string name, long value)
    {
        WriteName(name);
        output.Write(value.ToString(CultureInfo.InvariantCulture));
        _needsComma = true;
    }

    public void Null(string name)
    {
        WriteName(name);
        output.Write("null");
        _needsComma = true;
    }

    /// <summary>A value that is already JSON (a patch value built by the core's JSON writer).</summary>
    public void Raw(string name, string json)
    {
        WriteName(name);
        output.Write(json);
        _needsComma = true;
    }

    public void EndLine()
    {
        output.Write('\n');
        _needsComma = false;
    }

    private void WriteName(string name)
    {
        WriteCommaIfNeeded();
        WriteStringValue(name);
        output.Write(':');
    }

    private void WriteCommaIfNeeded()
    {
        if (_needsComma)
        {
            output.Write(',');
        }
    }

    private void WriteStringValue(string? value)
    {
        if (value is null)
        {
            output.Write("null");
            return;
        }

        output.Write('"');
        int runStart = 0;
        for (int i = 0; i < value.Length; i++)
        {
            char c = value[i];
            if (c >= 0x20 && c != '"' && c != '\\' && !char.IsSurrogate(c) && c != '\u2028' && c != '\u2029')
            {
                continue;
            }

            if (char.IsHighSurrogate(c) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]))
            {
                i++;
                continue;
            }

            output.Write(value.AsSpan(runStart, i - runStart));
            switch (c)
            {
                case '"': output.Write("\\\""); break;
                case '\\': output.Write("\\\\"); break;
                case '\n': output.Write("\\n"); break;
                case '\r': output.Write("\\r"); break;
                case '\t': output.Write("\\t"); break;
                default:
                    // Control characters, line/paragraph separators and lone surrogates (which would not survive UTF-8).
                    output.Write("\\u");
                    output.Write(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    break;
            }

            runStart = i + 1;
        }

        output.Write(value.AsSpan(runStart));
        output.Write('"');
    }
}
