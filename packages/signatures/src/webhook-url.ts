import { z } from 'zod';

/**
 * The public http(s) URL a provider includes in what it signs (Twilio, Square). It is configured,
 * never taken from the request: the Host header and any proxy's view of the URL can lie.
 */
export const webhookUrlSchema = z.url({ protocol: /^https?$/, error: 'must be an absolute http(s) URL' });
