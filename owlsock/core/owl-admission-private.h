/* owl-admission-private.h: who may still come in, and how a refusal reads
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The connection limits count slots: an upgrade takes its slots (in all,
 * per address, per user) when it is first checked and holds them through
 * guards that answer later, so upgrades cannot overrun a limit together;
 * its connection inherits them at the 101 and gives them back when it
 * closes. Every refusal is one row of one table: the reason counted in the
 * statistics, the HTTP status, the error code and the message.
 */

#pragma once

#include <libsoup/soup.h>

#include "owl-error.h"
#include "owl-module.h"

G_BEGIN_DECLS

typedef enum
{
  OWL_REFUSAL_NOT_FOUND,
  OWL_REFUSAL_NOT_TEXT,
  OWL_REFUSAL_STOPPING,
  OWL_REFUSAL_MAX_CONNECTIONS,
  OWL_REFUSAL_MAX_CONNECTIONS_PER_IP,
  OWL_REFUSAL_ORIGIN,
  OWL_REFUSAL_NOT_WEBSOCKET,
  OWL_REFUSAL_BAD_HANDSHAKE,
  OWL_REFUSAL_AUTH,
  OWL_REFUSAL_AUTH_TIMEOUT,
  OWL_REFUSAL_MAX_CONNECTIONS_PER_USER,
  OWL_REFUSAL_GATE,
  OWL_REFUSAL_SCHEMA,
  OWL_REFUSAL_CLIENT_GONE,
  OWL_REFUSAL_RECOVER,
  OWL_N_REFUSALS
} OwlRefusal;

typedef struct
{
  const char *reason;    /* in the statistics; static */
  guint       status;
  OwlError    code;
  const char *message;   /* when the refusal brings none of its own */
} OwlRefusalRow;

const OwlRefusalRow *owl_refusal_row          (OwlRefusal    refusal);
/* The status for a guard's or gate's error: its code decides (429 for
 * rate-limited, 503 for unavailable or timeout, 500 for internal), else
 * the row's. */
guint                owl_refusal_status_for   (OwlRefusal    refusal,
                                               const GError *error);
/* Answers @msg with @status and the JSON body every refusal has:
 * `{"code":...,"message":...}`. Counts nothing. */
void                 owl_refusal_answer       (SoupServerMessage *msg,
                                               guint              status,
                                               OwlError           code,
                                               const char        *message);
/* The `not-found` row's answer: every 404 of the service's own server,
 * whatever part of it answers, says the same. */
void                 owl_refusal_answer_not_found (SoupServerMessage *msg);

typedef struct _OwlAdmission OwlAdmission;

/* What one upgrade, then its connection, holds. The strings are the
 * admission's own keys, alive while the slots count in them. Two words:
 * the registry keeps one per connection. */
typedef struct
{
  const char *host;     /* non-NULL: a slot in all, and (unless the
                         * address was unknown) one for this address */
  const char *user;     /* counted for this user */
} OwlSlots;

OwlAdmission *owl_admission_new            (void);
void          owl_admission_free           (OwlAdmission *self);

/* The service's limits, read at each check. */
void          owl_admission_set_limits     (OwlAdmission *self,
                                            gint          max_connections,
                                            gint          max_per_ip,
                                            gint          max_per_user);
/* In all and for @host: FALSE with the refusal, else @slots holds both. */
gboolean      owl_admission_take           (OwlAdmission *self,
                                            const char   *host,
                                            OwlSlots     *slots,
                                            OwlRefusal   *refusal);
gboolean      owl_admission_take_user      (OwlAdmission *self,
                                            const char   *user,
                                            OwlSlots     *slots);
void          owl_admission_release        (OwlAdmission *self,
                                            OwlSlots     *slots);
guint         owl_admission_count_user     (OwlAdmission *self,
                                            const char   *user);

/* No Origin (not a browser), the same origin, or one on @module's list
 * (else @fallback, the service's). */
gboolean      owl_admission_origin_allowed (SoupServerMessage  *msg,
                                            OwlModule          *module,
                                            const char * const *fallback);

G_END_DECLS
