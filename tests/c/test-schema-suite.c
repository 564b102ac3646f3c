/* test-schema-suite.c: OwlSchema against the JSON Schema Test Suite
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Runs the official suite's draft 2020-12 files (from Debian's
 * golang-github-flowstack-go-jsonschema-dev, or the directory in
 * OWL_SCHEMA_SUITE_DIR) through the real compiler and validator: each
 * group's schema is compiled from the file's JSON as owlsock reads a
 * message, and each case must be valid or invalid as the suite says (or,
 * for the few listed, the other way, on purpose). What owlsock does not
 * support is listed below with its reason; where the reason is an
 * unsupported keyword or format, the schema must be refused naming it.
 * A missing suite fails the test: it never passes by running nothing.
 */

#include <string.h>

#include "owl-test-util.h"
#include "owl-json-private.h"

#define DEFAULT_SUITE_DIR \
  "/usr/share/gocode/src/github.com/flowstack/go-jsonschema/testdata/draft2020-12"

/* The files run, relative to the suite directory. */
static const char * const run_files[] = {
  "additionalProperties.json", "allOf.json", "anyOf.json", "boolean_schema.json",
  "const.json", "contains.json", "content.json", "default.json",
  "dependentRequired.json", "dependentSchemas.json", "enum.json",
  "exclusiveMaximum.json", "exclusiveMinimum.json", "if-then-else.json",
  "infinite-loop-detection.json", "items.json", "maxContains.json", "maxItems.json",
  "maxLength.json", "maxProperties.json", "maximum.json", "minContains.json",
  "minItems.json", "minLength.json", "minProperties.json", "minimum.json",
  "multipleOf.json", "not.json", "oneOf.json", "pattern.json", "patternProperties.json",
  "prefixItems.json", "properties.json", "propertyNames.json", "ref.json",
  "required.json", "type.json", "uniqueItems.json", "format.json",
  "optional/bignum.json", "optional/ecmascript-regex.json", "optional/float-overflow.json",
  "optional/non-bmp-regex.json", "optional/unicode.json",
  "optional/format/date-time.json", "optional/format/date.json", "optional/format/time.json",
  "optional/format/email.json", "optional/format/uri.json", "optional/format/uuid.json",
  "optional/format/ipv4.json", "optional/format/ipv6.json", "optional/format/hostname.json",
};

/* Groups (case NULL) or single cases owlsock does not run. A group whose
 * `refused` is set must fail to compile with an error containing it (or
 * one of its alternatives, separated by "|"); with group NULL, every group
 * of the file must. */
typedef struct
{
  const char *file;
  const char *group;                   /* NULL: every group of the file */
  const char *test;                    /* NULL: every case of the group */
  const char *refused;
  const char *why;
} Skip;

static const Skip skips[] = {
  { "const.json", "nul characters in strings", NULL, NULL,
    "owlsock refuses \\u0000 in messages: such a string never reaches a schema" },
  { "enum.json", "nul characters in strings", NULL, NULL,
    "owlsock refuses \\u0000 in messages: such a string never reaches a schema" },
  /* $ref is "#" or "#/$defs/<name>" only: no other JSON pointers, no
   * $id-relative or remote URIs, no anchors. */
  { "ref.json", "relative pointer ref to object", NULL, "Invalid \"$ref\"",
    "$ref to a pointer other than #/$defs/<name>" },
  { "ref.json", "relative pointer ref to array", NULL, "Invalid \"$ref\"",
    "$ref to a pointer other than #/$defs/<name>" },
  { "ref.json", "remote ref, containing refs itself", NULL, "Invalid \"$ref\"",
    "$ref to a remote schema (the metaschema)" },
  { "ref.json", "Recursive references between schemas", NULL, "Invalid \"$ref\"",
    "$ref relative to an $id" },
  { "ref.json", "refs with relative uris and defs", NULL, "Invalid \"$ref\"", "$ref relative to an $id" },
  { "ref.json", "relative refs with absolute uris and defs", NULL, "Invalid \"$ref\"",
    "$ref relative to an $id" },
  { "ref.json", "ref creates new scope when adjacent to keywords", NULL,
    "Unknown keyword \"unevaluatedProperties\"", "unevaluatedProperties is not supported" },
  { "anchor.json", NULL, NULL, "Unknown keyword \"$anchor\"|Invalid \"$ref\"",
    "$anchor and $ref to anchors or $id URIs are not supported" },
  { "defs.json", NULL, NULL, "Invalid \"$ref\"", "$ref to a remote schema (the metaschema)" },
  { "dynamicRef.json", NULL, NULL, "Unknown keyword \"$dynamicRef\"|Unknown keyword \"$dynamicAnchor\"|Unknown keyword \"$anchor\"|Invalid \"$ref\"",
    "$dynamicRef and $dynamicAnchor are not supported" },
  { "id.json", NULL, NULL, "Invalid \"$ref\"", "$ref to $id URIs is not supported" },
  { "unevaluatedItems.json", NULL, NULL, "Unknown keyword \"unevaluatedItems\"", "unevaluatedItems is not supported" },
  { "unevaluatedProperties.json", NULL, NULL, "Unknown keyword \"unevaluatedProperties\"",
    "unevaluatedProperties is not supported" },
  { "unknownKeyword.json", NULL, NULL, "Unknown keyword \"array_of_schemas\"",
    "owlsock refuses unknown keywords instead of ignoring them" },
  { "optional/refOfUnknownKeyword.json", NULL, NULL, "Unknown keyword \"unknown-keyword\"",
    "owlsock refuses unknown keywords instead of ignoring them" },
  { "refRemote.json", NULL, NULL, "Invalid \"$ref\"",
    "remote references (a schema store) are not supported" },
  /* Formats owlsock does not check are refused, as unknown keywords are. */
#define REFUSED_FORMAT(name) \
  { "format.json", name " format", NULL, "unsupported format \"" name "\"", "format not checked" }
  REFUSED_FORMAT ("idn-email"), REFUSED_FORMAT ("regex"), REFUSED_FORMAT ("idn-hostname"),
  REFUSED_FORMAT ("json-pointer"), REFUSED_FORMAT ("relative-json-pointer"),
  REFUSED_FORMAT ("iri"), REFUSED_FORMAT ("iri-reference"), REFUSED_FORMAT ("uri-reference"),
  REFUSED_FORMAT ("uri-template"), REFUSED_FORMAT ("duration"),
#undef REFUSED_FORMAT
  { "optional/format/duration.json", NULL, NULL, "unsupported format \"duration\"", "format not checked" },
  { "optional/format/idn-email.json", NULL, NULL, "unsupported format \"idn-email\"", "format not checked" },
  { "optional/format/idn-hostname.json", NULL, NULL, "unsupported format \"idn-hostname\"", "format not checked" },
  { "optional/format/iri.json", NULL, NULL, "unsupported format \"iri\"", "format not checked" },
  { "optional/format/iri-reference.json", NULL, NULL, "unsupported format \"iri-reference\"", "format not checked" },
  { "optional/format/json-pointer.json", NULL, NULL, "unsupported format \"json-pointer\"", "format not checked" },
  { "optional/format/regex.json", NULL, NULL, "unsupported format \"regex\"", "format not checked" },
  { "optional/format/relative-json-pointer.json", NULL, NULL, "unsupported format \"relative-json-pointer\"", "format not checked" },
  { "optional/format/uri-reference.json", NULL, NULL, "unsupported format \"uri-reference\"", "format not checked" },
  { "optional/format/uri-template.json", NULL, NULL, "unsupported format \"uri-template\"", "format not checked" },
  /* owlsock's patterns are ECMA-262's, where \\d and \\w are ASCII even with
   * the u flag; this optional file asks for Unicode classes. */
  { "optional/unicode.json", "unicode semantics should be used for all pattern matching",
    "literal unicode character in json string", NULL, "\\w is ASCII, as in ECMA-262" },
  { "optional/unicode.json", "unicode semantics should be used for all pattern matching",
    "unicode character in hex format in string", NULL, "\\w is ASCII, as in ECMA-262" },
  { "optional/unicode.json", "unicode semantics should be used for all patternProperties matching",
    "literal unicode character in json string", NULL, "\\w is ASCII, as in ECMA-262" },
  { "optional/unicode.json", "unicode semantics should be used for all patternProperties matching",
    "unicode character in hex format in string", NULL, "\\w is ASCII, as in ECMA-262" },
  { "optional/unicode.json", "unicode digits are more than 0 through 9",
    "non-ascii digits (BENGALI DIGIT FOUR, BENGALI DIGIT TWO)", NULL,
    "\\d is ASCII, as in ECMA-262" },
};

/* Cases owlsock answers the other way on purpose, asserted so. format.json
 * tests that `format` is only an annotation by default: owlsock asserts the
 * formats it checks, so each of these invalid strings is refused. */
static const struct { const char *file; const char *group; const char *test; } opposites[] = {
#define ASSERTED_FORMAT(name) \
  { "format.json", name " format", "invalid " name " string is only an annotation by default" }
  ASSERTED_FORMAT ("email"), ASSERTED_FORMAT ("ipv4"), ASSERTED_FORMAT ("ipv6"),
  ASSERTED_FORMAT ("hostname"), ASSERTED_FORMAT ("date"), ASSERTED_FORMAT ("date-time"),
  ASSERTED_FORMAT ("time"), ASSERTED_FORMAT ("uri"), ASSERTED_FORMAT ("uuid"),
#undef ASSERTED_FORMAT
};

typedef struct
{
  guint files;
  guint groups;
  guint cases;
  guint skipped;                       /* cases not run for a reason */
  guint refused;                       /* groups refused as unsupported */
  guint refused_cases;                 /* and their cases, not run */
  guint opposite;                      /* cases answered the other way on purpose */
} Counts;

static Counts counts;

static const char *
suite_dir (void)
{
  const char *dir = g_getenv ("OWL_SCHEMA_SUITE_DIR");

  return dir != NULL && *dir != '\0' ? dir : DEFAULT_SUITE_DIR;
}

static const Skip *
find_skip (const char *file,
           const char *group,
           const char *test)
{
  for (guint i = 0; i < G_N_ELEMENTS (skips); i++)
    if (g_str_equal (skips[i].file, file) &&
        (skips[i].group == NULL || g_str_equal (skips[i].group, group)) &&
        g_strcmp0 (skips[i].test, test) == 0)
      return &skips[i];
  return NULL;
}

/* The suite file, read as owlsock reads a message. owlsock refuses
 * "\u0000" in a message (its strings are C strings), so the groups that use
 * it are skipped; it reads here as U+2400 so that the rest of the file can
 * be read. */
static JsonNode *
load (const char *file)
{
  g_autofree char *path = g_build_filename (suite_dir (), file, NULL);
  g_autofree char *text = NULL;
  g_autoptr(GError) error = NULL;
  OwlError code = OWL_ERROR_FAILED;
  gsize len;
  JsonNode *root;
  char *nul;

  if (!g_file_get_contents (path, &text, &len, &error))
    {
      g_test_message ("The JSON Schema Test Suite is missing (%s): install "
                      "golang-github-flowstack-go-jsonschema-dev or set OWL_SCHEMA_SUITE_DIR",
                      error->message);
      return NULL;
    }
  while ((nul = strstr (text, "\\u0000")) != NULL)
    memcpy (nul, "\\u2400", 6);
  root = owl_json_parse (text, len, 256, &code);
  if (root == NULL)
    g_test_message ("%s is not JSON owlsock reads (error %d)", path, code);
  return root;
}

static const char *
member_string (JsonObject *object,
               const char *name)
{
  JsonNode *node = json_object_get_member (object, name);

  return node != NULL && JSON_NODE_HOLDS_VALUE (node) ? json_node_get_string (node) : NULL;
}

static gboolean
is_opposite (const char *file,
             const char *group,
             const char *test)
{
  for (guint i = 0; i < G_N_ELEMENTS (opposites); i++)
    if (g_str_equal (opposites[i].file, file) && g_str_equal (opposites[i].group, group) &&
        g_str_equal (opposites[i].test, test))
      return TRUE;
  return FALSE;
}

/* A group owlsock must refuse: the schema fails to compile, naming why. */
static gboolean
check_refused (const char *file,
               const char *group,
               JsonNode   *schema,
               const Skip *skip,
               guint       n_cases)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(OwlSchema) compiled = owl_schema_new_from_node (schema, &error);

  g_auto(GStrv) alternatives = g_strsplit (skip->refused, "|", -1);

  counts.refused_cases += n_cases;
  counts.refused++;
  for (guint i = 0; compiled == NULL && alternatives[i] != NULL; i++)
    if (strstr (error->message, alternatives[i]) != NULL)
      return TRUE;
  g_test_message ("%s: \"%s\": expected a refusal containing '%s', got %s", file, group,
                  skip->refused, error != NULL ? error->message : "a schema");
  return FALSE;
}

/* Every case of one group; FALSE if any is answered wrongly. */
static gboolean
run_cases (const char *file,
           const char *group,
           OwlSchema  *schema,
           JsonArray  *tests)
{
  gboolean ok = TRUE;

  for (guint i = 0; i < json_array_get_length (tests); i++)
    {
      JsonObject *test = json_array_get_object_element (tests, i);
      const char *description = member_string (test, "description");
      gboolean expected = json_object_get_boolean_member (test, "valid");
      g_autoptr(GError) error = NULL;
      gboolean valid;

      if (find_skip (file, group, description) != NULL)
        {
          counts.skipped++;
          continue;
        }
      counts.cases++;
      if (is_opposite (file, group, description))
        {
          expected = !expected;
          counts.opposite++;
        }
      valid = owl_schema_validate (schema, json_object_get_member (test, "data"), &error);
      g_assert_true (valid == (error == NULL));
      if (valid != expected)
        {
          g_test_message ("%s: \"%s\": \"%s\": expected %s, got %s%s", file, group, description,
                          expected ? "valid" : "invalid", valid ? "valid" : "invalid: ",
                          error != NULL ? error->message : "");
          ok = FALSE;
        }
    }
  return ok;
}

static gboolean
run_group (const char *file,
           JsonObject *group)
{
  const char *description = member_string (group, "description");
  JsonArray *tests = json_object_get_array_member (group, "tests");
  const Skip *skip = find_skip (file, description, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(OwlSchema) schema = NULL;

  counts.groups++;
  if (skip != NULL && skip->refused != NULL)
    return check_refused (file, description, json_object_get_member (group, "schema"), skip,
                          json_array_get_length (tests));
  if (skip != NULL)
    {
      counts.skipped += json_array_get_length (tests);
      return TRUE;
    }
  schema = owl_schema_new_from_node (json_object_get_member (group, "schema"), &error);
  if (schema == NULL)
    {
      g_test_message ("%s: \"%s\": not compiled: %s", file, description, error->message);
      counts.skipped += json_array_get_length (tests);
      return FALSE;
    }
  return run_cases (file, description, schema, tests);
}

static void
test_suite_file (gconstpointer data)
{
  const char *file = data;
  g_autoptr(JsonNode) root = load (file);
  gboolean ok = TRUE;

  g_assert_nonnull (root);
  g_assert_true (JSON_NODE_HOLDS_ARRAY (root));
  counts.files++;
  for (guint i = 0; i < json_array_get_length (json_node_get_array (root)); i++)
    ok &= run_group (file, json_array_get_object_element (json_node_get_array (root), i));
  if (!ok)
    g_test_fail ();
}

static gboolean
is_listed (const char *file)
{
  for (guint i = 0; i < G_N_ELEMENTS (run_files); i++)
    if (g_str_equal (run_files[i], file))
      return TRUE;
  for (guint i = 0; i < G_N_ELEMENTS (skips); i++)
    if (g_str_equal (skips[i].file, file) && skips[i].group == NULL)
      return TRUE;
  return FALSE;
}

/* Every file of the suite is run, refused or skipped with a reason here:
 * a newer suite's files do not go unnoticed. */
static void
test_suite_all_listed (void)
{
  static const char * const subdirs[] = { "", "optional", "optional/format" };
  guint n_files = 0;

  if (!g_file_test (suite_dir (), G_FILE_TEST_IS_DIR))
    {
      g_test_fail_printf ("The JSON Schema Test Suite is missing at %s: install "
                          "golang-github-flowstack-go-jsonschema-dev or set OWL_SCHEMA_SUITE_DIR",
                          suite_dir ());
      return;
    }
  for (guint i = 0; i < G_N_ELEMENTS (subdirs); i++)
    {
      g_autofree char *path = g_build_filename (suite_dir (), subdirs[i], NULL);
      g_autoptr(GError) error = NULL;
      g_autoptr(GDir) dir = g_dir_open (path, 0, &error);
      const char *name;

      g_assert_no_error (error);
      while ((name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *file = *subdirs[i] != '\0' ? g_strdup_printf ("%s/%s", subdirs[i], name)
                                                      : g_strdup (name);

          if (!g_str_has_suffix (name, ".json"))
            continue;
          n_files++;
          if (!is_listed (file))
            g_test_fail_printf ("%s is neither run nor skipped with a reason", file);
        }
    }
  g_assert_cmpuint (n_files, >=, G_N_ELEMENTS (run_files));
}

/* Files refused as a whole: each group must be refused naming the keyword. */
static void
test_suite_refused_file (gconstpointer data)
{
  const Skip *skip = data;
  g_autoptr(JsonNode) root = load (skip->file);
  gboolean ok = TRUE;

  g_assert_nonnull (root);
  counts.files++;
  for (guint i = 0; i < json_array_get_length (json_node_get_array (root)); i++)
    {
      JsonObject *group = json_array_get_object_element (json_node_get_array (root), i);

      counts.groups++;
      ok &= check_refused (skip->file, member_string (group, "description"),
                           json_object_get_member (group, "schema"), skip,
                           json_array_get_length (json_object_get_array_member (group, "tests")));
    }
  if (!ok)
    g_test_fail ();
}

int
main (int   argc,
      char *argv[])
{
  int status;

  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/owl/schema-suite/all-listed", test_suite_all_listed);
  for (guint i = 0; i < G_N_ELEMENTS (run_files); i++)
    {
      g_autofree char *path = g_strdup_printf ("/owl/schema-suite/run/%s", run_files[i]);

      g_test_add_data_func (path, run_files[i], test_suite_file);
    }
  for (guint i = 0; i < G_N_ELEMENTS (skips); i++)
    if (skips[i].group == NULL)
      {
        g_autofree char *path = g_strdup_printf ("/owl/schema-suite/refused/%s", skips[i].file);

        g_test_add_data_func (path, &skips[i], test_suite_refused_file);
      }
  status = g_test_run ();
  g_print ("# JSON Schema Test Suite (%s): %u files, %u groups, %u cases run (%u of them "
           "answered the other way on purpose); %u groups (%u cases) refused as unsupported; "
           "%u cases skipped with a reason\n",
           suite_dir (), counts.files, counts.groups, counts.cases, counts.opposite,
           counts.refused, counts.refused_cases, counts.skipped);
  return status;
}
