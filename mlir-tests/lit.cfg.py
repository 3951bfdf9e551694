# Runs mlir-tests/ under LLVM's lit and FileCheck, as a cross-check of the
# Rust runner (tests/mlir_tests.rs). scripts/test puts irex, FileCheck, not
# and IREE's tools on PATH.
import os

import lit.formats

config.name = "irex"
config.test_format = lit.formats.ShTest(execute_external=True)
config.suffixes = [".mlir"]
config.test_source_root = os.path.dirname(__file__)
config.environment["PATH"] = os.environ["PATH"]
