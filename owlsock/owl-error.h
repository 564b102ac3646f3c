/* owl-error.h: the OWL_ERROR domain
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined (OWLSOCK_INSIDE) && !defined (OWLSOCK_COMPILATION)
# error "Only <owlsock/owlsock.h> can be included directly."
#endif

#include <glib.h>

#include "owl-version-macros.h"

G_BEGIN_DECLS

/**
 * OWL_ERROR:
 *
 * The error domain of owlsock. Errors in this domain carry an [enum@Owlsock.Error]
 * code; each code has a stable short string (see [func@Owlsock.Error.code_to_string])
 * which is what reaches a client, never the internal message.
 *
 * Since: 0.1
 */
#define OWL_ERROR (owl_error_quark ())

/**
 * OwlError:
 * @OWL_ERROR_FAILED: a generic failure (`failed`)
 * @OWL_ERROR_INTERNAL: an internal error; the client sees no details (`internal`)
 * @OWL_ERROR_MALFORMED: the peer sent something that is not a valid envelope (`malformed`)
 * @OWL_ERROR_UNKNOWN_METHOD: a `call` named a method nobody handles (`unknown-method`)
 * @OWL_ERROR_TIMEOUT: an operation did not finish in time (`timeout`)
 * @OWL_ERROR_CLOSED: the connection is closed or closing (`closed`)
 * @OWL_ERROR_NOT_FOUND: the thing named does not exist (`not-found`)
 * @OWL_ERROR_EXISTS: the thing being added exists already (`exists`)
 * @OWL_ERROR_INVALID_ARGUMENT: an argument was not acceptable (`invalid-argument`)
 * @OWL_ERROR_UNSUPPORTED: the operation or frame type is not supported (`unsupported`)
 * @OWL_ERROR_TOO_BIG: a message is over the size limit (`too-big`)
 * @OWL_ERROR_TOO_DEEP: a JSON message nests deeper than allowed (`too-deep`)
 * @OWL_ERROR_AUTH_FAILED: authentication failed (`auth-failed`)
 * @OWL_ERROR_FORBIDDEN: authorization denied (`forbidden`)
 * @OWL_ERROR_VALIDATION: a message failed its schema (`validation`)
 * @OWL_ERROR_RATE_LIMITED: too many messages (`rate-limited`)
 * @OWL_ERROR_UNAVAILABLE: the service is shutting down or full (`unavailable`)
 *
 * Error codes of the %OWL_ERROR domain.
 *
 * Since: 0.1
 */
typedef enum
{
  OWL_ERROR_FAILED,
  OWL_ERROR_INTERNAL,
  OWL_ERROR_MALFORMED,
  OWL_ERROR_UNKNOWN_METHOD,
  OWL_ERROR_TIMEOUT,
  OWL_ERROR_CLOSED,
  OWL_ERROR_NOT_FOUND,
  OWL_ERROR_EXISTS,
  OWL_ERROR_INVALID_ARGUMENT,
  OWL_ERROR_UNSUPPORTED,
  OWL_ERROR_TOO_BIG,
  OWL_ERROR_TOO_DEEP,
  OWL_ERROR_AUTH_FAILED,
  OWL_ERROR_FORBIDDEN,
  OWL_ERROR_VALIDATION,
  OWL_ERROR_RATE_LIMITED,
  OWL_ERROR_UNAVAILABLE,
} OwlError;

OWL_AVAILABLE_IN_ALL
GQuark       owl_error_quark           (void);
OWL_AVAILABLE_IN_ALL
const char  *owl_error_code_to_string  (OwlError code);
OWL_AVAILABLE_IN_ALL
gboolean     owl_error_code_from_string (const char *str,
                                         OwlError   *code);
OWL_AVAILABLE_IN_ALL
gboolean     owl_error_code_is_recoverable (OwlError code);

G_END_DECLS
