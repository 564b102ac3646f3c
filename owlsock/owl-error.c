/* owl-error.c
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "owl-error.h"

/**
 * owl_error_quark:
 *
 * The quark of the %OWL_ERROR domain.
 *
 * Returns: the error domain
 *
 * Since: 0.1
 */
G_DEFINE_QUARK (owl-error-quark, owl_error)

typedef struct
{
  const char *code;
  gboolean    recoverable;
} OwlErrorInfo;

/* Indexed by OwlError; the strings are part of the wire protocol. */
static const OwlErrorInfo error_info[] = {
  [OWL_ERROR_FAILED]           = { "failed", TRUE },
  [OWL_ERROR_INTERNAL]         = { "internal", FALSE },
  [OWL_ERROR_MALFORMED]        = { "malformed", TRUE },
  [OWL_ERROR_UNKNOWN_METHOD]   = { "unknown-method", TRUE },
  [OWL_ERROR_TIMEOUT]          = { "timeout", TRUE },
  [OWL_ERROR_CLOSED]           = { "closed", FALSE },
  [OWL_ERROR_NOT_FOUND]        = { "not-found", TRUE },
  [OWL_ERROR_EXISTS]           = { "exists", FALSE },
  [OWL_ERROR_INVALID_ARGUMENT] = { "invalid-argument", FALSE },
  [OWL_ERROR_UNSUPPORTED]      = { "unsupported", FALSE },
  [OWL_ERROR_TOO_BIG]          = { "too-big", TRUE },
  [OWL_ERROR_TOO_DEEP]         = { "too-deep", TRUE },
  [OWL_ERROR_AUTH_FAILED]      = { "auth-failed", FALSE },
  [OWL_ERROR_FORBIDDEN]        = { "forbidden", FALSE },
  [OWL_ERROR_VALIDATION]       = { "validation", TRUE },
  [OWL_ERROR_RATE_LIMITED]     = { "rate-limited", TRUE },
  [OWL_ERROR_UNAVAILABLE]      = { "unavailable", TRUE },
};

/**
 * owl_error_code_to_string:
 * @code: an error code of the %OWL_ERROR domain
 *
 * Gives the stable short string of @code, as it appears in the `code` field
 * of an `error` frame (`"unknown-method"`, `"malformed"`, ...).
 *
 * Returns: (transfer none): the code string; `"internal"` for an unknown code
 *
 * Since: 0.1
 */
const char *
owl_error_code_to_string (OwlError code)
{
  if ((guint) code >= G_N_ELEMENTS (error_info))
    return "internal";

  return error_info[code].code;
}

/**
 * owl_error_code_from_string:
 * @str: a code string such as `"timeout"`
 * @code: (out): where to store the code
 *
 * The reverse of [func@Owlsock.Error.code_to_string].
 *
 * Returns: %TRUE if @str names a known code
 *
 * Since: 0.1
 */
gboolean
owl_error_code_from_string (const char *str,
                            OwlError   *code)
{
  g_return_val_if_fail (code != NULL, FALSE);

  if (str == NULL)
    return FALSE;

  for (guint i = 0; i < G_N_ELEMENTS (error_info); i++)
    {
      if (g_str_equal (str, error_info[i].code))
        {
          *code = i;
          return TRUE;
        }
    }

  return FALSE;
}

/**
 * owl_error_code_is_recoverable:
 * @code: an error code of the %OWL_ERROR domain
 *
 * Whether a client may retry or carry on after an error with @code; this is
 * the `recoverable` field of an `error` frame.
 *
 * Returns: %TRUE if the error is recoverable
 *
 * Since: 0.1
 */
gboolean
owl_error_code_is_recoverable (OwlError code)
{
  if ((guint) code >= G_N_ELEMENTS (error_info))
    return FALSE;

  return error_info[code].recoverable;
}
