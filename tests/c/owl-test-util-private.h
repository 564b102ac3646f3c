/* owl-test-util-private.h: shared between the owl-test-*.c files of the
 * test library, not for the tests themselves
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "owl-test-util.h"

G_BEGIN_DECLS

gboolean owl_test_accept_any_certificate (GObject              *connection_or_message,
                                          GTlsCertificate      *certificate,
                                          GTlsCertificateFlags  errors,
                                          gpointer              user_data);

G_END_DECLS
