/* patterns.h: the modules of the patterns example, one file each
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "../common.h"

typedef struct
{
  char *secret_file;        /* --secret-file, for the monitor's JWT guard */
  int   stream_interval;    /* --stream-interval: ms between two data updates */
  int   stats_interval;     /* --stats-interval: ms between two server-stats */
} PatternsOptions;

/* Each adds its module(s) to @service; FALSE with @error set if it cannot. */
gboolean patterns_add_stream     (OwlSocketService       *service,
                                  const PatternsOptions  *options,
                                  GError                **error);
gboolean patterns_add_game       (OwlSocketService       *service,
                                  const PatternsOptions  *options,
                                  GError                **error);
gboolean patterns_add_monitor    (OwlSocketService       *service,
                                  const PatternsOptions  *options,
                                  GError                **error);
gboolean patterns_add_connection (OwlSocketService       *service,
                                  const PatternsOptions  *options,
                                  GError                **error);
gboolean patterns_add_errors     (OwlSocketService       *service,
                                  const PatternsOptions  *options,
                                  GError                **error);

/* A module whose per-type schemas (a NULL-terminated list of type, schema
 * text pairs) are compiled and set, with strict-types on. */
OwlModule *patterns_module_new   (const char             *alias,
                                  const char             *path,
                                  const char * const     *type_schemas,
                                  GError                **error);
