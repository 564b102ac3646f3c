/* common.h: what every C example shares
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <owlsock/owlsock.h>

/* Called once the options are parsed, before listening: the place for work
 * that needs an option's value. Returns FALSE with @error set to exit 1. */
typedef gboolean (*ExampleSetupFunc) (OwlSocketService  *service,
                                      gpointer           user_data,
                                      GError           **error);

int example_main      (OwlSocketService   *service,
                       int                 argc,
                       char              **argv);
int example_main_full (OwlSocketService   *service,
                       const GOptionEntry *extra_entries,
                       ExampleSetupFunc    setup,
                       gpointer            user_data,
                       int                 argc,
                       char              **argv);
