# Runs mlir-tests/ under LLVM's lit and FileCheck, as a cross-check of the
# Rust runner (tests/mlir_tests.rs). scripts/test puts irex, FileCheck, not
# and IREE's tools on PATH.
import os

import lit.formats

config.name = "irex"
config.test_format = lit.formats.ShTest(execute_external=True)
config.suffixes = [".mlir"]
config.test_source_root = os.path.dirname(__file__)
# Scratch files (%t) go under target/, not beside the tests.
config.test_exec_root = os.path.join(os.path.dirname(config.test_source_root), "target", "lit")
config.environment["PATH"] = os.environ["PATH"]
# The Python of .venv (with `gguf`), for the scripts that make test models.
config.substitutions.append(
    ("%python", os.path.join(os.path.dirname(config.test_source_root), ".venv", "bin", "python"))
)
