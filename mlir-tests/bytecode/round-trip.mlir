// Bytecode read back prints exactly the text irex printed directly.
// RUN: irex export --example linear --policy external --emit bytecode -o %t.mlirbc
// RUN: irex export --example linear --policy external --emit text -o %t.mlir
// RUN: irex print %t.mlirbc > %t.printed && diff %t.mlir %t.printed
// RUN: head -c 4 %t.mlirbc | od -An -c | FileCheck %s --check-prefix=MAGIC
// RUN: irex print %t.mlirbc | FileCheck %s

// MAGIC: M L 357 R
// CHECK: util.global private @linear_weight = #flow.parameter.named<"model"::"linear.weight">
// CHECK: stablehlo.dot_general
