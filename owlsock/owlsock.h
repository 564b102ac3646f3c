/* owlsock.h: the umbrella header
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#define OWLSOCK_INSIDE
# include "owl-version-macros.h"
# include "owl-error.h"
# include "owl-close.h"
# include "owl-enums.h"
# include "owl-auth.h"
# include "owl-request.h"
# include "owl-attempt.h"
# include "owl-guard.h"
# include "owl-gate.h"
# include "owl-jwt-guard.h"
# include "owl-schema.h"
# include "owl-call.h"
# include "owl-connection.h"
# include "owl-module.h"
# include "owl-socket-service.h"
# include "owl-socket-client.h"
#undef OWLSOCK_INSIDE
