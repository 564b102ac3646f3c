/* owl-schema-types-private.h: a compiled OwlSchema, for the files that
 * make it, walk it and report on it
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Included by owl-schema*.c only: the short names below are theirs.
 */

#pragma once

#include <json-glib/json-glib.h>

#include "owl-regex-private.h"
#include "owl-schema-private.h"

G_BEGIN_DECLS

/* Instance types as bits; an integral number carries both NUMBER and INTEGER. */
enum
{
  TYPE_NULL    = 1 << 0,
  TYPE_BOOLEAN = 1 << 1,
  TYPE_OBJECT  = 1 << 2,
  TYPE_ARRAY   = 1 << 3,
  TYPE_NUMBER  = 1 << 4,
  TYPE_INTEGER = 1 << 5,
  TYPE_STRING  = 1 << 6,
};

#define OWL_SCHEMA_N_TYPES 7

/* In the order of the bits above. */
extern const char * const owl_schema_type_names[OWL_SCHEMA_N_TYPES];

/* What a keyword compiles to. keywords[] (owl-schema-keywords.c) names the
 * keyword of each and how it compiles; keyword_checks[]
 * (owl-schema-validate.c) says how each checks an instance. */
typedef enum
{
  CHECK_TYPE,
  CHECK_CONST,
  CHECK_ENUM,
  CHECK_MIN_LENGTH,
  CHECK_MAX_LENGTH,
  CHECK_PATTERN,
  CHECK_MINIMUM,
  CHECK_MAXIMUM,
  CHECK_EXCLUSIVE_MINIMUM,
  CHECK_EXCLUSIVE_MAXIMUM,
  CHECK_PROPERTIES,
  CHECK_REQUIRED,
  CHECK_ADDITIONAL_PROPERTIES,
  CHECK_ITEMS,
  CHECK_MIN_ITEMS,
  CHECK_MAX_ITEMS,
  CHECK_ALL_OF,
  CHECK_ANY_OF,
  CHECK_ONE_OF,
  CHECK_REF,
  CHECK_NOT,
  CHECK_IF,
  CHECK_THEN,
  CHECK_ELSE,
  CHECK_FORMAT,
  CHECK_MULTIPLE_OF,
  CHECK_MIN_PROPERTIES,
  CHECK_MAX_PROPERTIES,
  CHECK_DEPENDENT_REQUIRED,
  CHECK_DEPENDENT_SCHEMAS,
  CHECK_PROPERTY_NAMES,
  CHECK_PATTERN_PROPERTIES,
  CHECK_UNIQUE_ITEMS,
  CHECK_CONTAINS,
  CHECK_MIN_CONTAINS,
  CHECK_MAX_CONTAINS,
  CHECK_PREFIX_ITEMS,
  N_CHECK_KINDS
} CheckKind;

typedef struct _Node Node;
typedef struct _Check Check;

typedef struct
{
  gboolean is_int;
  gint64   i;
  double   d;
} Number;

typedef struct
{
  char *name;
  Node *schema;
} Property;

/* A `format` owlsock checks: its name, and whether the @len bytes at @s
 * are of it. */
typedef struct
{
  const char *name;
  gboolean  (*check) (const char *s,
                      gsize       len);
} Format;

/* One keyword of one schema, compiled. Subschema pointers are borrowed: every
 * node belongs to OwlSchema.nodes. */
struct _Check
{
  CheckKind   kind;
  const char *keyword;                 /* static */
  union
  {
    guint      types;                  /* type */
    guint64    count;                  /* minLength & co; uniqueItems: 1 if true */
    Number     bound;                  /* minimum & co, multipleOf */
    const Format *format;               /* format */
    JsonNode  *value;                  /* const: our own copy */
    GPtrArray *values;                 /* enum: JsonNode, our own copies */
    OwlRegex  *regex;                  /* pattern */
    char     **required;
    struct
    {
      Property    *v;                  /* in schema order */
      guint        n;
      const char **sorted;             /* the names in strcmp () order */
    } props;
    struct
    {
      char  **names;
      GStrv  *required;                /* by name */
      guint   n;
    } deps;                            /* dependentRequired */
    struct
    {
      OwlRegex **regex;
      Node     **schema;               /* by regex */
      guint      n;
    } patterns;                        /* patternProperties */
    struct
    {
      Node        *schema;
      const Check *properties;         /* additionalProperties: the sibling `properties` */
      const Check *patterns;           /* additionalProperties: the sibling `patternProperties` */
      const Check *prefix;             /* items: the sibling `prefixItems` */
      const Check *min;                /* contains: the sibling `minContains` */
      const Check *max;                /* contains: the sibling `maxContains` */
    } sub;                             /* items, additionalProperties, propertyNames, contains */
    struct
    {
      Node        **v;
      guint         n;
      char        **names;             /* dependentSchemas: the member each schema is for */
      const Check  *then_check;        /* if: the sibling `then` */
      const Check  *else_check;        /* if: the sibling `else` */
    } list;                            /* allOf, anyOf, oneOf, prefixItems, dependentSchemas;
                                        * $ref, not, if, then, else with n = 1 */
  } u;
};

struct _Node
{
  guint    index;                      /* in OwlSchema.nodes */
  gboolean is_false;
  guint    n_checks;
  Check   *checks;                     /* in schema order */
};

typedef struct
{
  const char *name;                    /* NULL: an array index */
  guint       index;
} Segment;

/* The work one validation may still do, shared by every Failure of it. */
typedef struct
{
  gint64   left;
  gboolean exhausted;
} Budget;

/* Where and why validation failed. Validation that only needs a yes or no
 * (inside anyOf and oneOf, or when nobody asks) is @quiet: nothing is
 * recorded, but the budget is spent all the same. */
typedef struct
{
  gboolean     quiet;
  Budget      *budget;
  const Check *check;                  /* NULL: the root schema is `false` */
  gboolean     false_schema;           /* @check applied a `false` schema */
  gboolean     many;                   /* oneOf: more than one matched */
  const char  *missing;                /* required, dependentRequired: the first absent name */
  const char  *trigger;                /* dependentRequired: the member that required it */
  GArray      *segments;               /* Segment, innermost first */
} Failure;

/* owl-schema-value.c: JSON values as a schema sees them */

gboolean  owl_schema_number_from_node   (JsonNode     *node,
                                         Number       *number);
gboolean  owl_schema_double_is_integral (double        d);
int       owl_schema_number_compare     (const Number *a,
                                         const Number *b);
gboolean  owl_schema_values_equal       (JsonNode     *a,
                                         JsonNode     *b);
int       owl_schema_compare_strings    (gconstpointer a,
                                         gconstpointer b);
void      owl_schema_append_canonical   (GString      *out,
                                         JsonNode     *node);
gboolean  owl_schema_is_multiple_of     (const Number *x,
                                         const Number *m,
                                         gint64       *cost);
JsonNode *owl_schema_copy_value         (JsonNode     *node,
                                         guint         budget);
guint     owl_schema_instance_types     (JsonNode     *node);

/* owl-schema-format.c: the formats `format` checks */

const Format *owl_schema_find_format (const char *name);

/* owl-schema-compile.c: a schema document into nodes and checks */

void     owl_schema_node_free  (gpointer       node);
Node    *owl_schema_compile    (JsonNode      *json,
                                GPtrArray     *nodes,
                                GError       **error);

/* owl-schema-validate.c: the walk */

gboolean owl_schema_check_root (const Node   *root,
                                JsonNode     *instance,
                                gint64        budget,
                                char        **pointer,
                                const char  **keyword,
                                char        **message);

/* owl-schema-report.c: a failure, told */

void owl_schema_append_token (GString        *pointer,
                              const char     *token);
void owl_schema_report       (const Failure  *fail,
                              char          **pointer,
                              const char    **keyword,
                              char          **message);

G_END_DECLS
