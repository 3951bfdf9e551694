// Every op carries a name location naming the model node it came from.
// RUN: irex export --example linear --policy external --locations -o - | FileCheck %s

// CHECK: util.global private @linear_weight = {{.*}} loc([[WLOC:#loc[0-9]*]])
// CHECK: stablehlo.dot_general {{.*}} loc([[MATVEC:#loc[0-9]*]])
// CHECK: stablehlo.add {{.*}} loc([[BIAS:#loc[0-9]*]])
// CHECK-DAG: [[WLOC]] = loc("linear.weight")
// CHECK-DAG: [[MATVEC]] = loc("linear.matvec")
// CHECK-DAG: [[BIAS]] = loc("linear.bias_add")
