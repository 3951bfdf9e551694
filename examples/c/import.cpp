// A host that embeds IREE's compiler imports a model with irex straight
// into its own compiler session: no file between the two, one process.
//
//   irex_import_example MODEL OUT.vmfb OUT.irpa [--seq-len N [--expect-flag FLAG]]
//
// It creates an IREE compiler session with the flags irex would use for
// the model on the host CPU (FLAG must be one of them), borrows the session's MLIR context, lets irex build the
// model's module in it (and write the .irpa of its weights), imports the
// module into an invocation, runs IREE's pipeline and writes the .vmfb.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "iree/compiler/embedding_api.h"
#include "iree/compiler/mlir_interop.h"
#include "irex_mlir.h"

namespace {

int fail(const char *what, const char *message) {
  std::fprintf(stderr, "irex_import_example: %s: %s\n", what, message);
  return 1;
}

bool check(iree_compiler_error_t *error, const char *what) {
  if (!error) return true;
  fail(what, ireeCompilerErrorGetMessage(error));
  ireeCompilerErrorDestroy(error);
  return false;
}

// irex's session flags for `model` under `options` (one a line).
std::vector<std::string> compile_flags(const irex_options_t *options, const char *model) {
  size_t length = 0;
  irex_options_compile_flags(options, model, nullptr, 0, &length);
  std::string text(length, '\0');
  if (irex_options_compile_flags(options, model, text.data(), text.size(), &length) != IREX_OK) return {};
  text.resize(length - 1);
  std::vector<std::string> flags;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    flags.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return flags;
}

// A context that is not a compiler session's lacks IREE's dialects; irex
// refuses it with a message rather than building an unusable module.
bool refuses_a_bare_context(const char *model) {
  MlirContext bare = mlirContextCreate();
  MlirOperation module{nullptr};
  irex_status status = irex_import_module(bare, model, nullptr, nullptr, &module);
  bool refused = status != IREX_OK && module.ptr == nullptr && std::strlen(irex_last_error()) > 0;
  if (refused) std::printf("a bare MLIR context is refused: %s\n", irex_last_error());
  mlirContextDestroy(bare);
  return refused;
}

}  // namespace

int main(int argc, char **argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s MODEL OUT.vmfb OUT.irpa [--seq-len N [--expect-flag FLAG]]\n", argv[0]);
    return 2;
  }
  irex_options_t *options = irex_options_create();
  if (argc >= 6 && std::strcmp(argv[4], "--seq-len") == 0 &&
      irex_options_set_sequence_length(options, std::strtoull(argv[5], nullptr, 10)) != IREX_OK)
    return fail("--seq-len", irex_last_error());

  ireeCompilerGlobalInitialize();
  if (!refuses_a_bare_context(argv[1])) return fail("a bare context", "was not refused");

  iree_compiler_session_t *session = ireeCompilerSessionCreate();
  std::vector<std::string> flags = compile_flags(options, argv[1]);
  if (flags.empty()) return fail("irex_options_compile_flags", irex_last_error());
  if (argc >= 8 && std::strcmp(argv[6], "--expect-flag") == 0) {
    bool found = false;
    for (const std::string &flag : flags) found = found || flag == argv[7];
    if (!found) return fail("irex_options_compile_flags", "lacks the --expect-flag flag");
  }
  std::vector<const char *> argv_flags;
  for (const std::string &flag : flags) {
    std::printf("session flag %s\n", flag.c_str());
    argv_flags.push_back(flag.c_str());
  }
  if (!check(ireeCompilerSessionSetFlags(session, static_cast<int>(argv_flags.size()),
                                         argv_flags.data()),
             "ireeCompilerSessionSetFlags"))
    return 1;

  MlirContext context = ireeCompilerSessionBorrowContext(session);
  MlirOperation module{nullptr};
  if (irex_import_module(context, argv[1], options, argv[3], &module) != IREX_OK)
    return fail("irex_import", irex_last_error());
  irex_options_destroy(options);
  std::printf("imported %s into the session's context; weights in %s\n", argv[1], argv[3]);

  iree_compiler_invocation_t *invocation = ireeCompilerInvocationCreate(session);
  ireeCompilerInvocationEnableConsoleDiagnostics(invocation);
  if (!ireeCompilerInvocationImportStealModule(invocation, module))
    return fail("ireeCompilerInvocationImportStealModule", "the module was refused");
  if (!ireeCompilerInvocationPipeline(invocation, IREE_COMPILER_PIPELINE_STD))
    return fail("ireeCompilerInvocationPipeline", "compilation failed");
  iree_compiler_output_t *output = nullptr;
  if (!check(ireeCompilerOutputOpenFile(argv[2], &output), "ireeCompilerOutputOpenFile")) return 1;
  if (!check(ireeCompilerInvocationOutputVMBytecode(invocation, output),
             "ireeCompilerInvocationOutputVMBytecode"))
    return 1;
  ireeCompilerOutputKeep(output);
  ireeCompilerOutputDestroy(output);
  ireeCompilerInvocationDestroy(invocation);
  ireeCompilerSessionDestroy(session);
  ireeCompilerGlobalShutdown();
  std::printf("compiled %s in one process\n", argv[2]);
  return 0;
}
