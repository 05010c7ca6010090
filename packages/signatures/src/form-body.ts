/**
 * The fields of an `application/x-www-form-urlencoded` body, in order and with repeats: `+` is a
 * space and percent escapes are decoded, as the senders (Slack, Twilio) encode them.
 */
export function parseFormBody(text: string): URLSearchParams {
  return new URLSearchParams(text);
}

/** The media type of a Content-Type value, lowercased and without parameters; '' when absent. */
export function mediaType(contentType: string | undefined): string {
  return (contentType?.split(';', 1)[0] ?? '').trim().toLowerCase();
}
