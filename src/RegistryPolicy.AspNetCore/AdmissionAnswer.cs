namespace RegistryPolicy.AspNetCore;

/// <summary>How a review was answered, for metrics and logs.</summary>
public enum AdmissionOutcome
{
    /// <summary>Allowed with a patch.</summary>
    Patched,

    /// <summary>Allowed, nothing to change.</summary>
    Unchanged,

    /// <summary>Allowed untouched without looking: DELETE or CONNECT, a subresource, an excluded namespace, the opt-out label, a mirror pod, a kind not handled.</summary>
    Skipped,

    /// <summary>Refused by the policy's admission rule.</summary>
    Denied,

    /// <summary>Not an AdmissionReview this webhook can answer: HTTP 400.</summary>
    BadRequest,
}

/// <summary>
/// The HTTP answer to one review: the status code, the body (an AdmissionReview as JSON, or a plain-text message for a bad
/// request) and what happened. Immutable and thread-safe.
/// </summary>
/// <param name="StatusCode">200 for every review answered, 400 for a body that is not one.</param>
/// <param name="Body">The response body, UTF-8.</param>
/// <param name="Outcome">What happened.</param>
/// <param name="PatchOperations">How many JSON Patch operations the answer carries.</param>
/// <param name="Message">Why, for logs: never a value from a Secret.</param>
public readonly record struct AdmissionAnswer(int StatusCode, ReadOnlyMemory<byte> Body, AdmissionOutcome Outcome, int PatchOperations, string Message)
{
    /// <summary>The content type of <see cref="Body"/>.</summary>
    public string ContentType => StatusCode == 200 ? "application/json" : "text/plain; charset=utf-8";

    /// <summary>Formats as <c>outcome (status): message</c>; the body is left out.</summary>
    /// <returns>The answer as text.</returns>
    public override string ToString() => $"{Outcome} ({StatusCode}): {Message}";
}
