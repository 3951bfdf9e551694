/*
 * irex_import on MLIR's own C types, for hosts that embed IREE's compiler
 * and include its MLIR C headers (mlir-c/IR.h). Written by hand; irex.h is
 * the generated ABI this wraps.
 */
#ifndef IREX_MLIR_H
#define IREX_MLIR_H

#include "irex.h"
#include "mlir-c/IR.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Builds and verifies the model at `model` in `context` (borrow it from an
 * IREE compiler session: ireeCompilerSessionBorrowContext) and stores its
 * module operation in *module, the caller's to own (import it with
 * ireeCompilerInvocationImportStealModule). When `parameters` is not NULL
 * the .irpa of the module's external weights is written there. See
 * irex_import in irex.h.
 */
static inline irex_status irex_import_module(MlirContext context, const char *model,
                                             const irex_options_t *options,
                                             const char *parameters, MlirOperation *module) {
  void *operation = NULL;
  irex_status status =
      irex_import(context.ptr, model, options, parameters, module ? &operation : NULL);
  if (module) module->ptr = operation;
  return status;
}

#ifdef __cplusplus
}
#endif

#endif /* IREX_MLIR_H */
