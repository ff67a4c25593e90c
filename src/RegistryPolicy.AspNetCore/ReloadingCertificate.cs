using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace RegistryPolicy.AspNetCore;

/// <summary>
/// A TLS serving certificate read from PEM files and re-read when they change, for Kestrel's
/// <c>ServerCertificateSelector</c>: every new handshake gets the newest certificate that loaded, and connections already
/// open keep theirs. Changes are found by content, not by file events alone, so Kubernetes' secret-volume update (the
/// <c>..data</c> symlink swapped to a new directory) is seen, and a half-written pair (a new certificate with the old key)
/// is refused until both files match, the old certificate staying in force. Thread-safe.
/// </summary>
public sealed class ReloadingCertificate
{
    private readonly object _gate = new();
    private X509Certificate2 _current;
    private byte[] _fingerprint;

    private ReloadingCertificate(string certificateFile, string keyFile, X509Certificate2 certificate, byte[] fingerprint)
    {
        CertificateFile = certificateFile;
        KeyFile = keyFile;
        _current = certificate;
        _fingerprint = fingerprint;
    }

    /// <summary>The certificate file (PEM; the leaf first, then any intermediates).</summary>
    public string CertificateFile { get; }

    /// <summary>The private key file (PEM, PKCS#8, PKCS#1 or SEC1).</summary>
    public string KeyFile { get; }

    /// <summary>The certificate handshakes get now.</summary>
    public X509Certificate2 Current => Volatile.Read(ref _current);

    /// <summary>Why the newest files were refused, or <see langword="null"/> when the current certificate is their content.</summary>
    public string? LastError { get; private set; }

    /// <summary>Loads the files; <paramref name="error"/> says why not (the key's content is never quoted).</summary>
    /// <param name="certificateFile">The certificate file.</param>
    /// <param name="keyFile">The private key file.</param>
    /// <param name="certificate">The certificate, or <see langword="null"/>.</param>
    /// <param name="error">Why it could not be loaded.</param>
    /// <returns>Whether it loaded.</returns>
    public static bool TryLoad(string certificateFile, string keyFile, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out ReloadingCertificate? certificate,
        [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out string? error)
    {
        ArgumentNullException.ThrowIfNull(certificateFile);
        ArgumentNullException.ThrowIfNull(keyFile);
        if (TryRead(certificateFile, keyFile, out X509Certificate2? loaded, out byte[]? fingerprint, out error))
        {
            certificate = new ReloadingCertificate(certificateFile, keyFile, loaded, fingerprint);
            return true;
        }

        certificate = null;
        return false;
    }

    /// <summary>
    /// Re-reads the files if their content changed. Returns <see langword="true"/> when a new certificate was taken into use,
    /// <see langword="false"/> when nothing changed or the new content was refused (then <see cref="LastError"/> says why).
    /// </summary>
    /// <returns>Whether the certificate changed.</returns>
    public bool Reload()
    {
        lock (_gate)
        {
            byte[] fingerprint;
            try
            {
                fingerprint = Fingerprint(File.ReadAllBytes(CertificateFile), File.ReadAllBytes(KeyFile));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                LastError = $"cannot read the certificate or key: {e.Message}";
                return false;
            }

            if (fingerprint.AsSpan().SequenceEqual(_fingerprint))
            {
                LastError = null;
                return false;
            }

            if (!TryRead(CertificateFile, KeyFile, out X509Certificate2? loaded, out byte[]? read, out string? error))
            {
                LastError = error;
                return false;
            }

            Volatile.Write(ref _current, loaded);
            _fingerprint = read;
            LastError = null;
            return true;
        }
    }

    private static bool TryRead(string certificateFile, string keyFile, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out X509Certificate2? certificate,
        [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out byte[]? fingerprint, [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out string? error)
    {
        certificate = null;
        fingerprint = null;
        byte[] certBytes, keyBytes;
        try
        {
            certBytes = File.ReadAllBytes(certificateFile);
            keyBytes = File.ReadAllBytes(keyFile);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            error = $"cannot read the certificate or key: {e.Message}";
            return false;
        }

        try
        {
            using X509Certificate2 pem = X509Certificate2.CreateFromPem(System.Text.Encoding.ASCII.GetString(certBytes), System.Text.Encoding.ASCII.GetString(keyBytes));
            // A PKCS#12 round trip gives a key the TLS stack can use on every platform (PEM keys are ephemeral on Windows).
            certificate = X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
            if (certificate.NotAfter < DateTime.UtcNow)
            {
                error = $"{certificateFile}: the certificate expired on {certificate.NotAfter:u}";
                certificate.Dispose();
                certificate = null;
                return false;
            }
        }
        catch (CryptographicException)
        {
            // Never the exception's text: it could quote key material.
            error = $"{certificateFile} and {keyFile} are not a PEM certificate and its private key (or the key does not match the certificate)";
            return false;
        }
        catch (ArgumentException)
        {
            error = $"{certificateFile} and {keyFile} are not a PEM certificate and its private key";
            return false;
        }

        fingerprint = Fingerprint(certBytes, keyBytes);
        error = null;
        return true;
    }

    private static byte[] Fingerprint(byte[] certificate, byte[] key)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(certificate);
        hash.AppendData(key);
        return hash.GetHashAndReset();
    }
}
