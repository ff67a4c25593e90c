using System.Text;
using RegistryPolicy.Cli;

var utf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false);
using var stdin = new StreamReader(Console.OpenStandardInput(), utf8, detectEncodingFromByteOrderMarks: false, bufferSize: 1 << 16);
using var stdout = new StreamWriter(Console.OpenStandardOutput(), utf8, bufferSize: 1 << 16) { AutoFlush = false };
using var stderr = new StreamWriter(Console.OpenStandardError(), utf8) { AutoFlush = true };
int exitCode = CliApp.Run(args, new CliStreams(stdin, stdout, stderr));
stdout.Flush();
return exitCode;

/// <summary>The entry point (internal: the tool's public surface is its command line).</summary>
internal partial class Program;
