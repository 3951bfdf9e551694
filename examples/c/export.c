/*
 * Exports a model with irex's C ABI, as `irex export` does, and lists what
 * the export's parameter archive holds.
 *
 *   irex_export_example MODEL FOLDER [--seq-len N] [--no-compile] [--iree-flag FLAG]...
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "irex.h"

static int fail(const char *what) {
  fprintf(stderr, "irex_export_example: %s: %s\n", what, irex_last_error());
  return 1;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s MODEL FOLDER [--seq-len N] [--no-compile] [--iree-flag FLAG]...\n",
            argv[0]);
    return 2;
  }
  irex_options_t *options = irex_options_create();
  if (!options) return fail("irex_options_create");
  for (int i = 3; i < argc; ++i) {
    irex_status status = IREX_OK;
    if (strcmp(argv[i], "--no-compile") == 0) {
      status = irex_options_set_compile(options, false);
    } else if (strcmp(argv[i], "--seq-len") == 0 && i + 1 < argc) {
      status = irex_options_set_sequence_length(options, strtoull(argv[++i], NULL, 10));
    } else if (strcmp(argv[i], "--iree-flag") == 0 && i + 1 < argc) {
      status = irex_options_add_iree_flag(options, argv[++i]);
    } else {
      fprintf(stderr, "irex_export_example: unknown argument '%s'\n", argv[i]);
      return 2;
    }
    if (status != IREX_OK) return fail(argv[i]);
  }
  printf("irex %s: exporting %s to %s\n", irex_version(), argv[1], argv[2]);
  if (irex_export(argv[1], argv[2], options) != IREX_OK) return fail("irex_export");
  irex_options_destroy(options);

  /* The archive's listing, sized by a first call that asks for the length. */
  char archive[4096];
  snprintf(archive, sizeof archive, "%s/model.irpa", argv[2]);
  size_t length = 0;
  if (irex_inspect(archive, NULL, 0, &length) != IREX_ERROR_BUFFER_TOO_SMALL)
    return fail("irex_inspect (size)");
  char *json = malloc(length);
  if (!json || irex_inspect(archive, json, length, &length) != IREX_OK)
    return fail("irex_inspect");
  printf("%s: %zu bytes of JSON, starting %.60s\n", archive, length, json);
  free(json);
  return 0;
}
