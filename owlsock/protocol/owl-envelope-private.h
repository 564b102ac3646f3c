/* owl-envelope-private.h: the JSON envelope of @owlmeans/socket
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Every frame and every JSON body owlsock sends is built here, and nowhere
 * else: the builders return newly allocated JSON text and its length. What
 * an error may tell a client is decided once, by owl_envelope_client_error().
 */

#pragma once

#include <json-glib/json-glib.h>

#include "owl-error.h"

G_BEGIN_DECLS

typedef enum
{
  OWL_ENVELOPE_APP,       /* no type, or one the protocol does not own */
  OWL_ENVELOPE_PING,
  OWL_ENVELOPE_PONG,
  OWL_ENVELOPE_CALL,
  OWL_ENVELOPE_RESULT,
  OWL_ENVELOPE_ERROR,
  OWL_ENVELOPE_REQUEST,
  OWL_ENVELOPE_RESPONSE,
  OWL_ENVELOPE_EVENT,
  OWL_ENVELOPE_AUTH,
} OwlEnvelopeType;

OwlEnvelopeType owl_envelope_classify (JsonObject *object);

/* The one rule of what an error may tell a peer: an OWL_ERROR (but
 * `internal`) is the application's words for it; anything else is
 * internal text, sent as `internal` "Internal error". Returns the code and
 * sets *@message (owned by @error, or static). @error may be NULL. */
OwlError owl_envelope_client_error (const GError  *error,
                                    const char   **message);

/* The GError a peer's `error` frame stands for. */
GError  *owl_envelope_parse_error  (JsonObject    *object);

/* Frames. @id is the peer's id node (a string or an integer), copied. */
char *owl_envelope_pong            (JsonNode      *id,
                                    gsize         *len);
char *owl_envelope_call            (const char    *id,
                                    const char    *method,
                                    JsonNode      *args,
                                    guint          timeout_ms,
                                    gsize         *len);
char *owl_envelope_request         (const char    *id,
                                    JsonNode      *payload,
                                    gsize         *len);
/* `result` (or `response` when @is_response) with @payload. */
char *owl_envelope_answer          (JsonNode      *id,
                                    gboolean       is_response,
                                    JsonNode      *payload,
                                    gsize         *len);
char *owl_envelope_event           (const char    *event,
                                    JsonNode      *payload,
                                    gsize         *len);
char *owl_envelope_error           (JsonNode      *id,
                                    OwlError       code,
                                    const char    *message,
                                    gsize         *len);
/* An error frame for @error, through owl_envelope_client_error(). */
char *owl_envelope_error_for       (JsonNode      *id,
                                    const GError  *error,
                                    gsize         *len);
/* `validation` with `details: {type?, pointer, keyword}` (@type: the
 * message type whose own schema failed, or NULL); the message reads
 * "pointer: keyword: what" ("(root)" for the empty pointer). */
char *owl_envelope_validation_error (JsonNode     *id,
                                     const char   *type,
                                     const char   *pointer,
                                     const char   *keyword,
                                     const char   *what,
                                     gsize        *len);

/* The identity an `auth` answer reports. */
typedef struct
{
  const char         *user_id;
  const char         *entity_id;   /* nullable */
  const char * const *scopes;      /* nullable */
  gint64              expires_at;  /* 0: none */
} OwlEnvelopeIdentity;

/* {type: "auth", id?, stage: "authenticated", payload: {userId, entityId?,
 * scopes, expiresAt?}} */
char *owl_envelope_authenticated   (JsonNode                  *id,
                                    const OwlEnvelopeIdentity *who,
                                    gsize                     *len);
/* {type: "system", event: "auth-expiring", payload: {expiresAt, expiresIn}} */
char *owl_envelope_auth_expiring   (gint64         expires_at,
                                    gint64         expires_in,
                                    gsize         *len);
/* {type: "system", event: "shutdown", payload: {reason}} */
char *owl_envelope_shutdown        (const char    *reason,
                                    gsize         *len);

/* The JSON body of a refused upgrade: {code, message}. */
char *owl_envelope_refusal_body    (OwlError       code,
                                    const char    *message,
                                    gsize         *len);

G_END_DECLS
