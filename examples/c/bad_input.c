/*
 * Every entry point of irex's C ABI, given what a careless or hostile
 * caller gives it: null pointers, paths that are not UTF-8, values out of
 * range, unknown names, small buffers, files that are not models. Each
 * must return a non-zero status with a message, never crash or abort.
 *
 *   irex_bad_input_test SCRATCH_FOLDER
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "irex.h"

static int failures = 0;

/* Checks that `status` is `want` and that a failure left a message. */
static void expect(const char *what, irex_status status, irex_status want) {
  const char *message = irex_last_error();
  int ok = status == want && (want == IREX_OK ? message[0] == '\0' : message[0] != '\0');
  printf("%s %s: status %d (want %d): %s\n", ok ? "ok  " : "FAIL", what, status, want, message);
  if (!ok) ++failures;
}

static void expect_message(const char *what, const char *needle) {
  if (!strstr(irex_last_error(), needle)) {
    printf("FAIL %s: message lacks \"%s\"\n", what, needle);
    ++failures;
  }
}

static void write_file(const char *path, const char *text) {
  FILE *file = fopen(path, "wb");
  if (!file) { perror(path); exit(2); }
  fputs(text, file);
  fclose(file);
}

int main(int argc, char **argv) {
  if (argc != 2) { fprintf(stderr, "usage: %s SCRATCH_FOLDER\n", argv[0]); return 2; }
  const char *scratch = argv[1];
  char path[4096], archive[4096], not_a_model[4096];
  snprintf(archive, sizeof archive, "%s/lent.irpa", scratch);
  snprintf(not_a_model, sizeof not_a_model, "%s/notes.txt", scratch);
  write_file(not_a_model, "these are notes, not a model\n");
  const char not_utf8[] = {'/', 't', 'm', 'p', '/', (char)0xff, (char)0xfe, 0};
  size_t length = 0;
  char small[4];

  if (strlen(irex_version()) < 5) { printf("FAIL irex_version\n"); ++failures; }

  /* Options. */
  irex_options_t *options = irex_options_create();
  if (!options) { printf("FAIL irex_options_create\n"); return 1; }
  expect("set_policy(NULL options)", irex_options_set_policy(NULL, "inline"), IREX_ERROR_INVALID_ARGUMENT);
  expect_message("set_policy(NULL options)", "options is null");
  expect("set_policy(NULL)", irex_options_set_policy(options, NULL), IREX_ERROR_INVALID_ARGUMENT);
  expect("set_policy(unknown)", irex_options_set_policy(options, "everywhere"), IREX_ERROR_INVALID_ARGUMENT);
  expect_message("set_policy(unknown)", "everywhere");
  expect("set_policy(not UTF-8)", irex_options_set_policy(options, not_utf8), IREX_ERROR_INVALID_ARGUMENT);
  expect_message("set_policy(not UTF-8)", "not UTF-8");
  expect("set_policy(inline)", irex_options_set_policy(options, "inline"), IREX_OK);
  expect("set_quant(unknown)", irex_options_set_quant(options, "q2"), IREX_ERROR_INVALID_ARGUMENT);
  expect("set_scope(empty)", irex_options_set_scope(options, ""), IREX_ERROR_INVALID_ARGUMENT);
  expect("set_sequence_length(0)", irex_options_set_sequence_length(options, 0), IREX_ERROR_INVALID_ARGUMENT);
  expect("set_sequence_length(2^40)", irex_options_set_sequence_length(options, 1ull << 40), IREX_ERROR_INVALID_ARGUMENT);
  expect_message("set_sequence_length(2^40)", "out of range");
  expect("set_batch(0)", irex_options_set_batch(options, 0), IREX_ERROR_INVALID_ARGUMENT);
  expect("set_target(NULL)", irex_options_set_target(options, NULL, NULL), IREX_ERROR_INVALID_ARGUMENT);
  expect("add_iree_flag(unknown)", irex_options_add_iree_flag(options, "--iree-no-such-flag=1"), IREX_ERROR_COMPILER);
  expect_message("add_iree_flag(unknown)", "no-such-flag");
  expect("add_iree_flag(bad value)", irex_options_add_iree_flag(options, "--iree-opt-level=O9"), IREX_ERROR_COMPILER);
  expect("add_iree_flag(good)", irex_options_add_iree_flag(options, "--iree-opt-level=O2"), IREX_OK);
  expect("compile_flags(NULL length)", irex_options_compile_flags(options, NULL, NULL, 0, NULL), IREX_ERROR_INVALID_ARGUMENT);
  expect("compile_flags(size)", irex_options_compile_flags(options, NULL, NULL, 0, &length), IREX_ERROR_BUFFER_TOO_SMALL);
  if (length < 10) { printf("FAIL compile_flags length %zu\n", length); ++failures; }
  expect("compile_flags(small)", irex_options_compile_flags(options, NULL, small, sizeof small, &length), IREX_ERROR_BUFFER_TOO_SMALL);
  expect("compile_flags(NULL buffer, capacity 1 MiB)", irex_options_compile_flags(options, NULL, NULL, 1 << 20, &length), IREX_ERROR_INVALID_ARGUMENT);
  char *flags = malloc(length);
  expect("compile_flags", irex_options_compile_flags(options, NULL, flags, length, &length), IREX_OK);
  if (!strstr(flags, "--iree-opt-level=O2")) { printf("FAIL compile_flags lacks the added flag\n"); ++failures; }
  free(flags);
  expect("compile_flags(not UTF-8 model)", irex_options_compile_flags(options, not_utf8, NULL, 0, &length), IREX_ERROR_INVALID_ARGUMENT);
  expect("compile_flags(not a model)", irex_options_compile_flags(options, not_a_model, NULL, 0, &length), IREX_ERROR_INPUT);
  expect_message("compile_flags(not a model)", "notes.txt");
  irex_options_destroy(NULL);

  /* Models. */
  expect("export(NULL model)", irex_export(NULL, scratch, options), IREX_ERROR_INVALID_ARGUMENT);
  expect("export(NULL folder)", irex_export(not_a_model, NULL, NULL), IREX_ERROR_INVALID_ARGUMENT);
  expect("export(not UTF-8)", irex_export(not_utf8, scratch, NULL), IREX_ERROR_INVALID_ARGUMENT);
  snprintf(path, sizeof path, "%s/missing.gguf", scratch);
  expect("export(missing)", irex_export(path, scratch, NULL), IREX_ERROR_IO);
  expect_message("export(missing)", "missing.gguf");
  snprintf(path, sizeof path, "%s/out", scratch);
  expect("export(not a model)", irex_export(not_a_model, path, NULL), IREX_ERROR_INPUT);
  expect_message("export(not a model)", "notes.txt");
  expect("write_mlir(NULL length)", irex_write_mlir(not_a_model, NULL, IREX_MLIR_TEXT, NULL, 0, NULL), IREX_ERROR_INVALID_ARGUMENT);
  expect("write_mlir(format 7)", irex_write_mlir(not_a_model, NULL, 7, NULL, 0, &length), IREX_ERROR_INVALID_ARGUMENT);
  expect("write_mlir(not a model)", irex_write_mlir(not_a_model, NULL, IREX_MLIR_TEXT, NULL, 0, &length), IREX_ERROR_INPUT);
  void *module = (void *)1;
  expect("import(NULL context)", irex_import(NULL, not_a_model, NULL, NULL, &module), IREX_ERROR_INVALID_ARGUMENT);
  expect_message("import(NULL context)", "context is null");
  expect("import(NULL out)", irex_import(NULL, not_a_model, NULL, NULL, NULL), IREX_ERROR_INVALID_ARGUMENT);

  /* Inspect. */
  expect("inspect(NULL)", irex_inspect(NULL, NULL, 0, &length), IREX_ERROR_INVALID_ARGUMENT);
  expect("inspect(not a model)", irex_inspect(not_a_model, NULL, 0, &length), IREX_ERROR_INPUT);
  expect("inspect(folder without a model)", irex_inspect(scratch, NULL, 0, &length), IREX_ERROR_IO);

  /* The .irpa writer: lent memory and a file window, then read back. */
  static const float weights[4] = {1.0f, 2.0f, 3.0f, 4.0f};
  irex_irpa_writer_t *writer = irex_irpa_writer_create();
  expect("add_memory(NULL writer)", irex_irpa_writer_add_memory(NULL, "w", weights, sizeof weights, 0), IREX_ERROR_INVALID_ARGUMENT);
  expect("add_memory(NULL data)", irex_irpa_writer_add_memory(writer, "w", NULL, 16, 0), IREX_ERROR_INVALID_ARGUMENT);
  expect("add_memory(alignment 3)", irex_irpa_writer_add_memory(writer, "w", weights, sizeof weights, 3), IREX_ERROR_INVALID_ARGUMENT);
  expect("add_memory", irex_irpa_writer_add_memory(writer, "model.weight", weights, sizeof weights, 0), IREX_OK);
  expect("add_memory(duplicate)", irex_irpa_writer_add_memory(writer, "model.weight", weights, sizeof weights, 0), IREX_ERROR_INVALID_ARGUMENT);
  expect("add_file(past the end)", irex_irpa_writer_add_file(writer, "notes", not_a_model, 8, 1 << 20, 0), IREX_ERROR_INVALID_ARGUMENT);
  expect_message("add_file(past the end)", "outside");
  expect("add_file(offset overflow)", irex_irpa_writer_add_file(writer, "notes", not_a_model, ~0ull, 2, 0), IREX_ERROR_INVALID_ARGUMENT);
  expect("add_file(missing)", irex_irpa_writer_add_file(writer, "notes", path, 0, 1, 0), IREX_ERROR_IO);
  expect("add_file", irex_irpa_writer_add_file(writer, "notes", not_a_model, 6, 3, 0), IREX_OK);
  expect("write(NULL path)", irex_irpa_writer_write(writer, NULL), IREX_ERROR_INVALID_ARGUMENT);
  expect("write(into a folder that is missing)", irex_irpa_writer_write(writer, "/nonexistent/x.irpa"), IREX_ERROR_IO);
  expect("write", irex_irpa_writer_write(writer, archive), IREX_OK);
  irex_irpa_writer_destroy(writer);
  expect("inspect(size)", irex_inspect(archive, NULL, 0, &length), IREX_ERROR_BUFFER_TOO_SMALL);
  char *json = malloc(length);
  expect("inspect", irex_inspect(archive, json, length, &length), IREX_OK);
  if (!strstr(json, "\"model.weight\"") || !strstr(json, "\"notes\"") || !strstr(json, "\"bytes\":16")) {
    printf("FAIL inspect of the written archive: %s\n", json);
    ++failures;
  }
  free(json);
  irex_options_destroy(options);

  printf("%d failed\n", failures);
  return failures == 0 ? 0 : 1;
}
