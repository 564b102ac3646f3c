/* owl-upgrade-private.h: the path of an upgrade request, from the route to the 101
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * DESIGN.md's "path of an upgrade request": the route (404), text params
 * (400), cheap checks and slots (503, 429, 403, 426, 400), the auth chain
 * (401, 429, 403, 503), the query and params schemas (400), then the 101
 * with the negotiated subprotocol and permessage-deflate. Every refusal is
 * answered over HTTP with a JSON body and counted by reason. A guard or
 * gate that answers later pauses the message; a client that hangs up
 * meanwhile is noticed (on the service's own listener) by the tick.
 */

#pragma once

#include <libsoup/soup.h>

#include "owl-admission-private.h"
#include "owl-auth-chain-private.h"
#include "owl-deflate-private.h"
#include "owl-listener-private.h"
#include "owl-router-private.h"
#include "owl-stats-private.h"

G_BEGIN_DECLS

typedef struct _OwlUpgrade OwlUpgrade;

/* What the pipeline works with; the service owns it and keeps it current. */
typedef struct
{
  gpointer           service;          /* modules belong to it */
  GMainContext      *context;
  OwlRouter         *router;
  OwlAdmission      *admission;
  OwlAuthChain      *chain;
  OwlStats          *stats;
  OwlListener       *listener;         /* NULL on an attached server */
  const OwlListenerLimits *listener_limits;
  GStrv              allowed_origins;  /* the service's default */
  gboolean           stopping;
  GPtrArray         *waiting;          /* OwlUpgrade paused on a guard or gate */
  /* The 101 is out: the stream (taken) is the service's now. */
  void             (*accepted)         (gpointer            service,
                                        OwlUpgrade         *upgrade,
                                        SoupServerMessage  *msg,
                                        GIOStream          *stream);
} OwlUpgrades;

void        owl_upgrades_init         (OwlUpgrades       *self);
void        owl_upgrades_clear        (OwlUpgrades       *self);
/* A request on one of the service's paths. */
void        owl_upgrades_handle       (OwlUpgrades       *self,
                                       SoupServerMessage *msg);
/* Once a second: clients that hung up while a guard or gate decided. */
void        owl_upgrades_tick         (OwlUpgrades       *self);

/* For the accepted callback. */
OwlModule  *owl_upgrade_get_module    (OwlUpgrade        *upgrade);
OwlRequest *owl_upgrade_get_request   (OwlUpgrade        *upgrade);
/* The negotiated permessage-deflate, or NULL. */
const OwlDeflateParams *owl_upgrade_get_deflate (OwlUpgrade *upgrade);
/* The slots the upgrade holds, handed over: @slots is filled. */
void        owl_upgrade_take_slots    (OwlUpgrade        *upgrade,
                                       OwlSlots          *slots);

G_END_DECLS
