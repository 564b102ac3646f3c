/* owl-version-macros.h: symbol visibility for the public API
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined (OWLSOCK_INSIDE) && !defined (OWLSOCK_COMPILATION)
# error "Only <owlsock/owlsock.h> can be included directly."
#endif

#if defined (_WIN32) && defined (OWLSOCK_COMPILATION)
# define _OWL_EXTERN __declspec(dllexport) extern
#elif defined (__GNUC__)
# define _OWL_EXTERN __attribute__((visibility ("default"))) extern
#else
# define _OWL_EXTERN extern
#endif

/* Every public symbol carries this, so the library can build with hidden visibility. */
#define OWL_AVAILABLE_IN_ALL _OWL_EXTERN
