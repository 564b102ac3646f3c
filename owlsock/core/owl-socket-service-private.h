/* owl-socket-service-private.h: the service object, shared by its files
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * owl-socket-service.c: the object, its properties, listening and TLS,
 *   statistics;
 * owl-socket-service-modules.c: modules, guards and gates;
 * owl-socket-service-connections.c: the connection registry, rooms and
 *   broadcasts, stopping.
 * The parts with a job of their own are objects of their own: OwlRouter,
 * OwlAdmission, OwlUpgrades (owl-upgrade.c), OwlAuthChain, OwlRooms,
 * OwlStats, OwlMetrics.
 */

#pragma once

#include "owl-admission-private.h"
#include "owl-auth-chain-private.h"
#include "owl-connection-private.h"
#include "owl-limits-private.h"
#include "owl-listener-private.h"
#include "owl-metrics-private.h"
#include "owl-poller-private.h"
#include "owl-rooms-private.h"
#include "owl-router-private.h"
#include "owl-socket-service.h"
#include "owl-static-private.h"
#include "owl-stats-private.h"
#include "owl-upgrade-private.h"

G_BEGIN_DECLS

/* The broker properties, as set (owl-socket-service-scale.c). */
typedef struct
{
  char     *url;        /* NULL: in process */
  char     *prefix;
  guint     heartbeat;
  char     *node;
  gboolean  changed;    /* since the broker in use was built */
} OwlBrokerSettings;

struct _OwlSocketService
{
  GObject            parent_instance;

  char              *alias;
  GMainContext      *context;

  SoupServer        *server;
  gboolean           owns_server;
  GPtrArray         *listeners;       /* OwlListener: accept for an owned server */
  guint16            port;
  GHashTable        *prefixes;        /* SoupServer handler path -> number of modules */

  GHashTable        *modules;         /* alias -> OwlModule */
  OwlRouter         *router;          /* request path -> OwlModule */
  OwlAuthChain      *chain;           /* guards and gates */
  OwlAdmission      *admission;
  OwlUpgrades        upgrades;
  GHashTable        *connections;     /* id -> Entry: the connection, its slots */
  gulong             closed_hook;     /* on OwlConnection::closed, all instances */
  OwlRooms          *rooms;
  OwlBroker         *broker;          /* the rooms' (borrowed): for statistics */
  OwlBrokerSettings  broker_settings; /* the properties; applied at listen */
  gboolean           reuse_port;

  OwlLimits          limits;          /* every limit, the service-wide ones too */
  OwlListenerLimits  listener_limits; /* the handshake's limits (copies) and TLS */

  OwlStats          *stats;
  OwlMetrics        *metrics;
  gboolean           access_log;
  OwlStatic         *files;           /* serve_static(), or NULL */
  gboolean           holds_root;      /* owlsock put a handler on the server's "/" */
  OwlPoller         *poller;
  guint              tick_id;

  gboolean           stopping;
  GPtrArray         *stop_tasks;
  guint              stop_idle;
};

/* owl-socket-service.c */
void owl_socket_service_update_admission (OwlSocketService *self);
GInetAddress *owl_socket_service_resolve_host (const char  *host,
                                               GError     **error);
void owl_socket_service_set_port         (OwlSocketService *self,
                                         guint16           port);
void owl_socket_service_emit_stopped     (OwlSocketService *self);
void owl_socket_service_release_server   (OwlSocketService *self);

/* owl-socket-service-scale.c: the properties of scaling out (broker,
 * broker-prefix, broker-heartbeat, node-name, reuse-port: OwlScaleProperty
 * order): class_init fills @properties[0 .. OWL_SCALE_N_PROPERTIES - 1] */
typedef enum
{
  OWL_SCALE_BROKER,
  OWL_SCALE_BROKER_PREFIX,
  OWL_SCALE_BROKER_HEARTBEAT,
  OWL_SCALE_NODE_NAME,
  OWL_SCALE_REUSE_PORT,
  OWL_SCALE_N_PROPERTIES
} OwlScaleProperty;

void owl_socket_service_scale_class_init (GParamSpec       **properties);
void owl_socket_service_init_broker      (OwlSocketService  *self);
void owl_socket_service_fini_broker      (OwlSocketService  *self);
void owl_socket_service_scale_get        (OwlSocketService  *self,
                                          OwlScaleProperty   which,
                                          GValue            *value);
void owl_socket_service_scale_set        (OwlSocketService  *self,
                                          OwlScaleProperty   which,
                                          const GValue      *value,
                                          GParamSpec        *pspec);
/* Builds and installs the broker the properties name when they changed;
 * called by listen*() and attach() before they serve. */
gboolean owl_socket_service_apply_broker (OwlSocketService  *self,
                                          GError           **error);
/* (transfer full): the broker's "broker" statistics object. */
JsonNode *owl_socket_service_dup_broker_stats (OwlSocketService *self);

/* owl-socket-service-modules.c */
void owl_socket_service_init_modules     (OwlSocketService *self);
void owl_socket_service_clear_modules    (OwlSocketService *self);
void owl_socket_service_update_root     (OwlSocketService *self);
void owl_socket_service_use_server       (OwlSocketService *self,
                                          SoupServer       *server,
                                          gboolean          owned);

/* owl-socket-service-connections.c */
void owl_socket_service_init_connections  (OwlSocketService *self);
void owl_socket_service_clear_connections (OwlSocketService *self);
void owl_socket_service_fini_connections  (OwlSocketService *self);
void owl_socket_service_accepted          (gpointer           service,
                                           OwlUpgrade        *upgrade,
                                           SoupServerMessage *msg,
                                           GIOStream         *stream);
void owl_socket_service_tick_connections  (OwlSocketService  *self,
                                           gint64             now_us);
void owl_socket_service_close_module      (OwlSocketService  *self,
                                           OwlModule         *module);
guint64 owl_socket_service_dropped_open   (OwlSocketService  *self);
void owl_socket_service_emit_connection_signal (OwlSocketService *self,
                                                gboolean          added,
                                                OwlConnection    *connection);

G_END_DECLS
