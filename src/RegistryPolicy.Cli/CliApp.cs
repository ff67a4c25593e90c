using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;

namespace RegistryPolicy.Cli;

/// <summary>Builds the <c>registry-policy</c> command tree and runs it against a set of streams.</summary>
internal static class CliApp
{
    /// <summary>Runs the tool. Parse errors print the reason and a pointer to <c>--help</c> and return <see cref="ExitCodes.UsageError"/>.</summary>
    public static int Run(string[] args, CliStreams streams)
    {
        var examples = new Dictionary<Command, string>();
        RootCommand root = Build(streams, examples);
        foreach (Option option in root.Options)
        {
            if (option is HelpOption help && help.Action is HelpAction defaultHelp)
            {
                help.Action = new HelpWithExamplesAction(defaultHelp, examples);
            }
        }

        RefuseOptionsTakenAsValues(root);
        ParseResult parsed = root.Parse(args);
        var invocation = new InvocationConfiguration { Output = streams.Out, Error = streams.Error, EnableDefaultExceptionHandler = false };
        if (parsed.Errors.Count == 0 && parsed.Action is not HelpWithExamplesAction && ValuelessOption(parsed) is { } bare)
        {
            streams.Error.WriteLine($"error: {bare} is given without a value");
            streams.Error.WriteLine($"Run '{string.Join(' ', CommandPath(parsed.CommandResult.Command))} --help' for usage and examples.");
            return ExitCodes.UsageError;
        }

        if (parsed.Errors.Count > 0 && parsed.Action is not HelpWithExamplesAction)
        {
            foreach (var error in parsed.Errors)
            {
                streams.Error.WriteLine($"error: {error.Message}");
            }

            string path = string.Join(' ', CommandPath(parsed.CommandResult.Command));
            streams.Error.WriteLine($"Run '{path} --help' for usage and examples.");
            return ExitCodes.UsageError;
        }

        try
        {
            return parsed.Invoke(invocation);
        }
        catch (UsageException e)
        {
            streams.Error.WriteLine($"error: {e.Message}");
            streams.Error.WriteLine($"Run '{string.Join(' ', CommandPath(parsed.CommandResult.Command))} --help' for usage and examples.");
            return ExitCodes.UsageError;
        }
        catch (InputException e)
        {
            streams.Error.WriteLine($"error: {e.Message}");
            return ExitCodes.InputError;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Writing (render --out) or reading failed in the file system; the message names the path, never content.
            streams.Error.WriteLine($"error: {e.Message}");
            return ExitCodes.InputError;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A bug, never an answer: name it without its message (which could quote input) and exit distinctly.
            // The test suite runs every command on hostile input and fails on this exit code.
            streams.Error.WriteLine($"error: internal error ({e.GetType().Name}); please report it with the command line (not the input).");
            if (Environment.GetEnvironmentVariable("REGISTRY_POLICY_DEBUG") == "1")
            {
                streams.Error.WriteLine(e.StackTrace);
            }
            return ExitCodes.InternalError;
        }
    }

    /// <summary>
    /// Options that take several values, and list arguments, would otherwise swallow a mistyped option as a value
    /// (<c>-n team-a -o json</c> explaining a namespace called '-o'): a value that starts with '-' (other than '-' alone,
    /// standard input) is refused as the unknown option it is. A file whose name starts with '-' can be given as './-x'.
    /// </summary>
    private static void RefuseOptionsTakenAsValues(Command command)
    {
        foreach (Option option in command.Options)
        {
            if (option.ValueType == typeof(string[]))
            {
                option.Validators.Add(result => Refuse(result.Tokens, result.AddError));
            }
        }

        foreach (Argument argument in command.Arguments)
        {
            if (argument.ValueType == typeof(string[]) || argument.ValueType == typeof(string))
            {
                argument.Validators.Add(result => Refuse(result.Tokens, result.AddError));
            }
        }

        foreach (Command sub in command.Subcommands)
        {
            RefuseOptionsTakenAsValues(sub);
        }

        static void Refuse(IReadOnlyList<System.CommandLine.Parsing.Token> tokens, Action<string> error)
        {
            foreach (var token in tokens)
            {
                if (token.Value.Length > 1 && token.Value[0] == '-')
                {
                    error($"unknown option '{token.Value}' (a value that starts with '-' is taken for an option; write a file as './{token.Value}')");
                    return;
                }
            }
        }
    }

    /// <summary>
    /// An option that takes values, given again at the end or before another option with nothing after it
    /// (<c>-f a.yaml -f</c>): the parser accepts it because the first occurrence had a value, and it would be silently dropped.
    /// </summary>
    private static string? ValuelessOption(ParseResult parsed)
    {
        var valued = new HashSet<string>(StringComparer.Ordinal);
        for (Command? c = parsed.CommandResult.Command; c is not null; c = c.Parents.OfType<Command>().FirstOrDefault())
        {
            foreach (Option option in c.Options.Where(o => o.ValueType == typeof(string[])))
            {
                valued.Add(option.Name);
                foreach (string alias in option.Aliases)
                {
                    valued.Add(alias);
                }
            }
        }

        IReadOnlyList<System.CommandLine.Parsing.Token> tokens = parsed.Tokens;
        for (int i = 0; i < tokens.Count; i++)
        {
            if (tokens[i].Type == System.CommandLine.Parsing.TokenType.Option && valued.Contains(tokens[i].Value) &&
                (i + 1 == tokens.Count || tokens[i + 1].Type != System.CommandLine.Parsing.TokenType.Argument))
            {
                return tokens[i].Value;
            }
        }

        return null;
    }

    /// <summary>Every command path of the tool (for tests that check each one).</summary>
    internal static IEnumerable<string> CommandPaths()
    {
        RootCommand root = Build(new CliStreams(TextReader.Null, TextWriter.Null, TextWriter.Null), []);
        var paths = new List<string> { string.Empty };
        void Walk(Command command, string prefix)
        {
            foreach (Command sub in command.Subcommands)
            {
                string path = prefix.Length == 0 ? sub.Name : $"{prefix} {sub.Name}";
                paths.Add(path);
                Walk(sub, path);
            }
        }

        Walk(root, string.Empty);
        return paths;
    }

    private static RootCommand Build(CliStreams streams, Dictionary<Command, string> examples)
    {
        var root = new RootCommand(
            "registry-policy: offline container-registry policy for Kubernetes. Image references, pull credentials, " +
            "image-swap rewrites and registry resolution, computed from snapshots without touching a cluster.");
        examples[root] = """
              registry-policy resolve -f samples/kyma-cluster.yaml
              registry-policy explain -f samples/kyma-cluster.yaml -n team-b
              registry-policy plan -f samples/kyma-cluster.yaml
              registry-policy ref normalize nginx ghcr.io/org/app:1.2
              registry-policy ref normalize --default-tag < samples/images.txt
              registry-policy ref parse -o json localhost:5000/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
              registry-policy encode --server r.io --username ci --password-stdin < samples/token.txt
              registry-policy creds match --dockerconfig samples/dockerconfig-hub.json nginx
            """;
        root.Add(RefCommands.Build(streams, examples));
        root.Add(CredentialCommands.BuildEncode(streams, examples));
        root.Add(CredentialCommands.BuildCreds(streams, examples));
        root.Add(ResolutionCommands.BuildResolve(streams, examples));
        root.Add(ResolutionCommands.BuildExplain(streams, examples));
        root.Add(ResolutionCommands.BuildPlan(streams, examples));
        root.Add(ResolutionCommands.BuildAdmit(streams, examples));
        root.Add(PolicyCommands.Build(streams, examples));
        root.Add(SwapCommands.Build(streams, examples));
        root.Add(SwapCommands.BuildRender(streams, examples));
        root.Add(WhatIfCommands.Build(streams, examples));
        root.Add(PullCommands.Build(streams, examples));
        root.Add(ServeCommands.Build(streams, examples));
        root.Add(TestCommands.Build(streams, examples));
        root.Add(DoctorCommands.Build(streams, examples));
        root.Add(ControllerCommands.Build(streams, examples));
        return root;
    }

    private static Stack<string> CommandPath(Command command)
    {
        var names = new Stack<string>();
        for (Command? c = command; c is not null; c = c.Parents.OfType<Command>().FirstOrDefault())
        {
            names.Push(c is RootCommand ? "registry-policy" : c.Name);
        }

        return names;
    }

    /// <summary>The default help, followed by an "Examples:" section for the command asked about.</summary>
    private sealed class HelpWithExamplesAction(HelpAction inner, Dictionary<Command, string> examples) : SynchronousCommandLineAction
    {
        public override int Invoke(ParseResult parseResult)
        {
            // The default usage line repeats a parent's arguments ("swap [<image>...] check ..."): a subcommand does not take them.
            TextWriter real = parseResult.InvocationConfiguration.Output;
            var captured = new StringWriter { NewLine = real.NewLine };
            parseResult.InvocationConfiguration.Output = captured;
            try
            {
                inner.Invoke(parseResult);
            }
            finally
            {
                parseResult.InvocationConfiguration.Output = real;
            }

            string help = captured.ToString();
            Command asked = parseResult.CommandResult.Command;
            for (Command? parent = asked.Parents.OfType<Command>().FirstOrDefault(); parent is not null; parent = parent.Parents.OfType<Command>().FirstOrDefault())
            {
                foreach (Argument argument in parent.Arguments)
                {
                    foreach (string shown in new[] { $" [<{argument.Name}>...]", $" <{argument.Name}>...", $" <{argument.Name}>", $" [<{argument.Name}>]" })
                    {
                        help = help.Replace(shown + " " + asked.Name, " " + asked.Name, StringComparison.Ordinal);
                    }
                }
            }

            real.Write(help);
            if (examples.TryGetValue(parseResult.CommandResult.Command, out string? text))
            {
                TextWriter output = real;
                output.WriteLine("Examples:");
                output.WriteLine(text.TrimEnd());
                output.WriteLine();
            }

            return ExitCodes.Ok;
        }
    }
}

/// <summary>A command-line mistake found after parsing (for example two options that exclude each other). Exit code 2.</summary>
internal sealed class UsageException(string message) : Exception(message);

/// <summary>An input the command cannot use (for example a missing file). Exit code 1.</summary>
internal sealed class InputException(string message) : Exception(message);
