/* owld-config.h: owlsockd's configuration file, read and checked whole
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <owlsock/owlsock.h>

G_BEGIN_DECLS

#define OWLD_CONFIG_ERROR (owld_config_error_quark ())
GQuark owld_config_error_quark (void);

typedef enum
{
  OWLD_CONFIG_ERROR_INVALID,   /* the message lists every problem, one per line */
} OwldConfigError;

typedef enum
{
  OWLD_BEHAVIOUR_ECHO,
  OWLD_BEHAVIOUR_ROOM,
  OWLD_BEHAVIOUR_BUS,
  OWLD_BEHAVIOUR_STATS,
} OwldBehaviour;

typedef enum
{
  OWLD_VANISH_CLOSE,   /* the handler left: its connections are closed with 1001 */
  OWLD_VANISH_KEEP,    /* kept; their messages get `unavailable` until one returns */
} OwldVanish;

typedef struct
{
  char     *name;
  char     *alias;       /* what modules name on the service: name#signature */
  gboolean  bus;         /* type=bus: the module's bus handler decides */
  OwlGuard *guard;       /* type=jwt: ready to add */
} OwldGuardConfig;

typedef struct
{
  char    *name;
  char    *alias;
  OwlGate *gate;
} OwldGateConfig;

typedef struct
{
  char          *name;
  char          *signature;    /* equal signatures: the module need not change */
  OwldBehaviour  behaviour;
  char          *room_param;
  OwldVanish     vanish;
  guint          call_timeout_ms;
  guint          stats_interval_ms;   /* (stats) between two stats events */
  OwlModule     *module;       /* ready to add; guards and gates by alias */
  GPtrArray     *bus_guards;   /* OwldGuardConfig of type=bus it names */
} OwldModuleConfig;

typedef struct
{
  char       *path;
  char      **listen;          /* ADDRESS:PORT, checked; empty: socket adoption only */
  char       *tls_certificate;
  char       *tls_key;
  guint       exit_on_idle;    /* seconds; 0: never */
  char       *static_dir;      /* absolute, or NULL: no files served */
  char       *static_prefix;   /* "/" unless set */
  GPtrArray  *service_names;   /* char *: OwlSocketService properties to set ... */
  GArray     *service_values;  /* GValue: ... to these values */
  GPtrArray  *module_default_names;   /* [broker]: OwlModule properties ... */
  GArray     *module_default_values;  /* ... every module gets unless it sets them */
  char       *broker_signature;       /* [broker]'s keys for the service, or NULL */
  GPtrArray  *guards;          /* OwldGuardConfig */
  GPtrArray  *gates;           /* OwldGateConfig */
  GPtrArray  *modules;         /* OwldModuleConfig */
} OwldConfig;

OwldConfig       *owld_config_load          (const char  *path,
                                             GError     **error);
void              owld_config_free          (OwldConfig  *config);
OwldModuleConfig *owld_config_find_module   (OwldConfig  *config,
                                             const char  *name);
OwldGuardConfig  *owld_config_find_guard    (OwldConfig  *config,
                                             const char  *name);
gboolean          owld_config_parse_address (const char  *text,
                                             char       **host,
                                             guint16     *port);
void              owld_config_apply_service (OwldConfig        *config,
                                             OwldConfig        *before,
                                             OwlSocketService  *service);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (OwldConfig, owld_config_free)

/* owld-config-values.c: where keys are in the text, and how a value
 * becomes a property's */

typedef struct _OwldConfigText OwldConfigText;

OwldConfigText *owld_config_text_new     (const char      *path,
                                          const char      *text,
                                          GPtrArray       *errors);
void            owld_config_text_free    (OwldConfigText  *self);
guint           owld_config_text_line    (OwldConfigText  *self,
                                          const char      *group,
                                          const char      *key);
void            owld_config_text_error   (OwldConfigText  *self,
                                          GPtrArray       *errors,
                                          const char      *group,
                                          const char      *key,
                                          const char      *format,
                                          ...) G_GNUC_PRINTF (5, 6);
gboolean        owld_config_parse_value  (GParamSpec      *pspec,
                                          GKeyFile        *keyfile,
                                          const char      *group,
                                          const char      *key,
                                          GValue          *value,
                                          char           **why);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (OwldConfigText, owld_config_text_free)

/* owld-config-broker.c: the [broker] group */
void owld_config_load_broker         (OwldConfig     *config,
                                      GKeyFile       *keyfile,
                                      OwldConfigText *text,
                                      GPtrArray      *errors);
void owld_config_broker_apply_module (OwldConfig     *config,
                                      GKeyFile       *keyfile,
                                      const char     *group,
                                      OwlModule      *module,
                                      GString        *signature);

G_END_DECLS
