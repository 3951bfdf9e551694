// The runner must fail a file whose CHECK does not match: this file checks
// for an op the linear example does not contain, and is expected to fail.
// XFAIL: *
// RUN: irex export --example linear -o - | FileCheck %s

// CHECK: stablehlo.subtract
