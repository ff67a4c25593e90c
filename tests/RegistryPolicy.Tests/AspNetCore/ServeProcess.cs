using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace RegistryPolicy.Tests.AspNetCore;

/// <summary>
/// A test CA and serving certificates, laid out as a Kubernetes secret volume: the files are symlinks into <c>..data</c>,
/// itself a symlink to a timestamped directory, and an update swaps <c>..data</c> in one rename (what the kubelet does).
/// </summary>
internal sealed class SecretVolume : IDisposable
{
    private int _version;

    public SecretVolume()
    {
        Directory = System.IO.Directory.CreateTempSubdirectory("rp-tls-").FullName;
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=registry-policy test CA", caKey, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        Ca = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        CaFile = Path.Combine(Directory, "ca.crt");
        File.WriteAllText(CaFile, Ca.ExportCertificatePem());
        Publish(Issue("first"));
    }

    public string Directory { get; }

    public X509Certificate2 Ca { get; }

    public string CaFile { get; }

    public string CertificateFile => Path.Combine(Directory, "tls.crt");

    public string KeyFile => Path.Combine(Directory, "tls.key");

    /// <summary>A leaf for 127.0.0.1 and localhost signed by the CA; its serial number tells rotations apart.</summary>
    public (string Certificate, string Key, string Serial) Issue(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN=registry-policy-webhook {name}", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        san.AddDnsName("localhost");
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        byte[] serial = RandomNumberGenerator.GetBytes(8);
        serial[0] &= 0x7f;
        using X509Certificate2 leaf = request.Create(Ca, DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(7), serial);
        return (leaf.ExportCertificatePem(), key.ExportPkcs8PrivateKeyPem(), leaf.SerialNumber);
    }

    /// <summary>Writes a new version directory and swaps <c>..data</c> to it atomically.</summary>
    public void Publish((string Certificate, string Key, string Serial) pair) => Publish(pair.Certificate, pair.Key);

    public void Publish(string certificate, string key)
    {
        string version = $"..2026_12_01_{Interlocked.Increment(ref _version):D4}";
        string dir = System.IO.Directory.CreateDirectory(Path.Combine(Directory, version)).FullName;
        File.WriteAllText(Path.Combine(dir, "tls.crt"), certificate);
        File.WriteAllText(Path.Combine(dir, "tls.key"), key);
        string temp = Path.Combine(Directory, "..data_tmp");
        File.Delete(temp);
        File.CreateSymbolicLink(temp, version);
        // rename(2) over the old link, atomic as the kubelet's (File.Move follows the link to a directory and refuses).
        using (var mv = Process.Start("mv", ["-T", "-f", temp, Path.Combine(Directory, "..data")]))
        {
            mv.WaitForExit();
            Assert.Equal(0, mv.ExitCode);
        }

        foreach (string file in new[] { "tls.crt", "tls.key" })
        {
            if (!File.Exists(Path.Combine(Directory, file)))
            {
                File.CreateSymbolicLink(Path.Combine(Directory, file), Path.Combine("..data", file));
            }
        }
    }

    /// <summary>An HttpClient that trusts only the test CA and records the serial number of each certificate it was shown.</summary>
    public HttpClient Client(List<string>? seen = null, bool keepAlive = true)
    {
        var handler = new SocketsHttpHandler
        {
            PooledConnectionLifetime = keepAlive ? TimeSpan.FromMinutes(5) : TimeSpan.Zero,
            SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                {
                    if (certificate is null)
                    {
                        return false;
                    }

                    using var chain = new X509Chain();
                    chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                    chain.ChainPolicy.CustomTrustStore.Add(Ca);
                    chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                    using var leaf = new X509Certificate2(certificate);
                    if (seen is not null)
                    {
                        lock (seen)
                        {
                            seen.Add(leaf.SerialNumber);
                        }
                    }

                    return chain.Build(leaf);
                },
            },
        };
        return new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(20) };
    }

    public void Dispose() => System.IO.Directory.Delete(Directory, recursive: true);
}

/// <summary>The real <c>registry-policy serve</c> as a child process, on a free loopback port.</summary>
internal sealed class ServeProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _error = new();
    private readonly TaskCompletionSource _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ServeProcess(SecretVolume? tls, params string[] args)
    {
        Port = FreePort();
        string dll = Path.Combine(AppContext.BaseDirectory, "registry-policy.dll");
        var info = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (string a in new[] { dll, "serve", "--listen", $"127.0.0.1:{Port}" })
        {
            info.ArgumentList.Add(a);
        }

        if (tls is not null)
        {
            info.ArgumentList.Add("--tls-cert");
            info.ArgumentList.Add(tls.CertificateFile);
            info.ArgumentList.Add("--tls-key");
            info.ArgumentList.Add(tls.KeyFile);
        }
        else
        {
            info.ArgumentList.Add("--plain-http");
        }

        foreach (string a in args)
        {
            info.ArgumentList.Add(a);
        }

        _process = new Process { StartInfo = info };
        _process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                return;
            }

            lock (_error)
            {
                _error.AppendLine(e.Data);
            }

            if (e.Data.Contains("listening on", StringComparison.Ordinal))
            {
                _listening.TrySetResult();
            }
        };
        _process.OutputDataReceived += (_, _) => { };
        _process.Start();
        _process.BeginErrorReadLine();
        _process.BeginOutputReadLine();
        Task first = Task.WhenAny(_listening.Task, _process.WaitForExitAsync(), Task.Delay(TimeSpan.FromSeconds(30))).GetAwaiter().GetResult();
        Assert.True(_listening.Task.IsCompleted, "serve did not start:\n" + Log);
        BaseAddress = new Uri($"{(tls is null ? "http" : "https")}://127.0.0.1:{Port}");
    }

    public int Port { get; }

    public Uri BaseAddress { get; }

    public int Pid => _process.Id;

    public string Log
    {
        get
        {
            lock (_error)
            {
                return _error.ToString();
            }
        }
    }

    public void Terminate() => Signal("TERM");

    private void Signal(string name)
    {
        using var kill = Process.Start("kill", ["-" + name, _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
    }

    public int WaitForExit(TimeSpan timeout)
    {
        Assert.True(_process.WaitForExit(timeout), "serve did not exit in time:\n" + Log);
        _process.WaitForExit();
        return _process.ExitCode;
    }

    private static int FreePort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }

        _process.Dispose();
    }
}
