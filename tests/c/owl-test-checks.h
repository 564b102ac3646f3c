/* owl-test-checks.h: assertions over the fixture's clients that several
 * test files make
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "owl-test-util.h"

G_BEGIN_DECLS

/* An upgrade of @path is answered with @status, and its body holds @needle. */
void owl_test_assert_upgrade_refused (OwlTestFixture *fixture,
                                      const char     *path,
                                      guint           status,
                                      const char     *needle);
/* A round trip through an echo module on a client admitted earlier:
 * {"type":"echo","data":"still here"} comes back. */
void owl_test_assert_echoes          (OwlTestClient  *client);
/* A new libsoup client on @path (an echo module) whose message comes back
 * unchanged; the client is freed after. */
void owl_test_assert_echo_works      (OwlTestFixture *fixture,
                                      const char     *path);
/* A GObject::notify handler that counts into the guint at @user_data. */
void owl_test_count_notify           (GObject        *object,
                                      GParamSpec     *pspec,
                                      gpointer        user_data);

G_END_DECLS
