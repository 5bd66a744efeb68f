/*
 * Webhook delivery: a sender thread that drains webhook_outbox (migration
 * 012) with libcurl. Each notification is POSTed as queued, signed with the
 * Standard Webhooks headers when a secret is set; 2xx marks it delivered,
 * 408/429/5xx and transport errors retry it with exponential backoff and
 * jitter (or after Retry-After), other answers give it up. The row stays
 * locked (FOR UPDATE SKIP LOCKED) while it is being sent, so that several
 * collectors never send one notification at the same time.
 */
#ifndef OPG_COLLECTOR_WEBHOOK_H
#define OPG_COLLECTOR_WEBHOOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alerts.h"

#define OPG_WEBHOOK_MAX_KEY 256

/*
 * The signing key of a --webhook-secret: "whsec_<base64>" is decoded, any
 * other text is used as it is. Returns the key length, or -1 if it is
 * malformed or longer than OPG_WEBHOOK_MAX_KEY.
 */
int opg_webhook_parse_secret(const char *secret, uint8_t key[OPG_WEBHOOK_MAX_KEY]);

/*
 * The webhook-signature header value "v1,<base64 HMAC-SHA256 of
 * '<msg_id>.<timestamp>.<body>'>" into out (at least 64 bytes). 0 or -1.
 */
int opg_webhook_sign(const uint8_t *key, size_t key_len, const char *msg_id, long long timestamp,
                     const char *body, size_t body_len, char *out, size_t out_len);

/*
 * Delay before the next attempt, in ms: Retry-After (seconds or an HTTP
 * date; NULL when absent) when given, else exponential from 1 s with
 * jitter; capped at max_ms.
 */
long long opg_webhook_backoff_ms(int attempts, const char *retry_after, long long max_ms);

struct opg_webhook_sender;

/*
 * Starts the sender thread. cfg, conninfo and urls (the configured targets;
 * a queued notification for any other URL is given up) are borrowed and must
 * outlive the sender. NULL on failure.
 */
struct opg_webhook_sender *opg_webhook_sender_start(const struct opg_alerts_config *cfg,
                                                    const char *conninfo, char *const *urls,
                                                    size_t n_urls);
/* Wakes the sender: notifications were queued. */
void opg_webhook_sender_kick(struct opg_webhook_sender *s);
/* Notifications waiting (last seen by the sender; -1 before it looked). */
long long opg_webhook_sender_backlog(struct opg_webhook_sender *s);
/* Stops the thread (an attempt in flight finishes or times out) and frees s; accepts NULL. */
void opg_webhook_sender_stop(struct opg_webhook_sender *s);

#endif
