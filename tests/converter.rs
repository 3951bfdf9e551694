//! The converter's typed errors and policies, through the real verifiers.

use irex::diagnostic::Severity;
use irex::hlo::{
    ConstantMaterializationPolicy, DotDimensions, HloError, ModuleBuilder, TensorType,
    parse_module, print_module,
};
use irex::iree::CompileOptions;
use irex::melior::ir::operation::OperationLike;
use irex::models::tutorial::Example;
use irex::tensor::{BufferHandle, ElementType, TensorSpec};

fn f32_tensor(shape: &[u64]) -> TensorType {
    TensorType::new(shape, ElementType::F32)
}

/// An empty module `m` that inlines every weight.
fn inline_module(session: &irex::iree::Session) -> ModuleBuilder<'_> {
    ModuleBuilder::new(
        session.context().unwrap(),
        "m",
        ConstantMaterializationPolicy::InlineAlways,
        "model",
    )
}

#[test]
fn verifier_errors_name_the_op_and_its_location() {
    let session = CompileOptions::default().session().unwrap();
    let mut module = inline_module(&session);
    Example::MismatchedAdd.build(&mut module).unwrap();
    let Err(HloError::Verification { diagnostics }) = module.finish() else {
        panic!("the mismatched add must fail verification");
    };
    let error = &diagnostics[0];
    assert_eq!(error.severity, Severity::Error);
    assert_eq!(error.location.as_deref(), Some("loc(\"mismatched.add\")"));
    assert!(
        error.message.starts_with("'stablehlo.add' op"),
        "{}",
        error.message
    );
}

#[test]
fn shape_errors_are_caught_before_building() {
    let session = CompileOptions::default().session().unwrap();
    let mut module = inline_module(&session);
    let mut main = module
        .function("main", &[f32_tensor(&[3, 2]), f32_tensor(&[3])])
        .unwrap();
    let (matrix, vector) = (main.argument(0), main.argument(1));
    let error = main
        .dot_general("bad.dot", matrix, vector, &DotDimensions::contract(1, 0))
        .unwrap_err();
    assert!(
        matches!(&error, HloError::Shape { op: "stablehlo.dot_general", location, .. } if location == "bad.dot"),
        "{error}"
    );
    assert!(main.reshape("bad.reshape", matrix, &[5]).is_err());
    assert!(main.transpose("bad.transpose", matrix, &[0, 0]).is_err());
    assert!(
        main.broadcast_in_dim("bad.broadcast", vector, &[2, 4], &[1])
            .is_err()
    );
    // The same builder still makes valid ops afterwards.
    let transposed = main.transpose("ok.transpose", matrix, &[1, 0]).unwrap();
    assert_eq!(main.type_of(transposed).shape, [2, 3]);
    let broadcast = main
        .broadcast_in_dim("ok.broadcast", vector, &[2, 3], &[1])
        .unwrap();
    assert_eq!(main.type_of(broadcast).shape, [2, 3]);
}

#[test]
fn weights_whose_bytes_do_not_fit_their_spec_are_refused() {
    let session = CompileOptions::default().session().unwrap();
    let mut module = ModuleBuilder::new(
        session.context().unwrap(),
        "m",
        ConstantMaterializationPolicy::ExternalAlways,
        "model",
    );
    let mut main = module.function("main", &[]).unwrap();
    let spec = TensorSpec::dense("w", &[3], ElementType::F32);
    let error = main
        .weight(&spec, &BufferHandle::from_f32(&[1.0, 2.0]))
        .unwrap_err();
    assert!(
        matches!(&error, HloError::Weight { key, .. } if key == "w"),
        "{error}"
    );
}

#[test]
fn every_op_builder_verifies_and_compiles() {
    let options = CompileOptions::default();
    let session = options.session().unwrap();
    let mut module = ModuleBuilder::new(
        session.context().unwrap(),
        "ops",
        ConstantMaterializationPolicy::SizeThreshold(64),
        "model",
    );
    let mut main = module.function("main", &[f32_tensor(&[2, 3])]).unwrap();
    let x = main.argument(0);
    let big = TensorSpec::dense("big", &[3, 8], ElementType::F32);
    let small = TensorSpec::dense("small", &[3], ElementType::F32);
    let values: Vec<f32> = (0..24).map(|i| i as f32 / 8.0).collect();
    let w = main.weight(&big, &BufferHandle::from_f32(&values)).unwrap();
    let b = main
        .weight(&small, &BufferHandle::from_f32(&[1.0, 2.0, 3.0]))
        .unwrap();
    let b2 = main.broadcast_in_dim("b2", b, &[2, 3], &[1]).unwrap();
    let sum = main.add("sum", x, b2).unwrap();
    let diff = main.subtract("diff", sum, x).unwrap();
    let product = main.multiply("product", diff, sum).unwrap();
    let quotient = main.divide("quotient", product, b2).unwrap();
    let maximum = main.maximum("maximum", quotient, x).unwrap();
    let negated = main.negate("negated", maximum).unwrap();
    let exponential = main.exponential("exp", negated).unwrap();
    let projected = main
        .dot_general("project", exponential, w, &DotDimensions::contract(1, 0))
        .unwrap();
    let reshaped = main.reshape("reshape", projected, &[4, 4]).unwrap();
    let transposed = main.transpose("transpose", reshaped, &[1, 0]).unwrap();
    let halved = main
        .convert("convert", transposed, ElementType::F16)
        .unwrap();
    main.finish(&[halved]).unwrap();
    let converted = module.finish().unwrap();
    assert_eq!(
        converted.parameters.len(),
        1,
        "only the 96-byte weight is external"
    );
    assert_eq!(converted.parameters[0].key, "big");
    let text = print_module(&converted.module, Default::default());
    for op in [
        "add",
        "subtract",
        "multiply",
        "divide",
        "maximum",
        "negate",
        "exponential",
        "dot_general",
        "broadcast_in_dim",
        "reshape",
        "transpose",
        "convert",
    ] {
        assert!(
            text.contains(&format!("stablehlo.{op}")),
            "stablehlo.{op} missing:\n{text}"
        );
    }
    let folder = tempfile::tempdir().unwrap();
    irex::iree::compile_module(&session, &converted.module, &folder.path().join("ops.vmfb"))
        .unwrap();
}

#[test]
fn bytecode_parses_back_to_the_same_text() {
    let session = CompileOptions::default().session().unwrap();
    let context = session.context().unwrap();
    let mut module = ModuleBuilder::new(
        context,
        "linear",
        ConstantMaterializationPolicy::ExternalAlways,
        "model",
    );
    Example::Linear.build(&mut module).unwrap();
    let converted = module.finish().unwrap();
    let text = print_module(&converted.module, Default::default());
    let bytecode = converted.module.as_operation().write_bytecode();
    let reparsed = parse_module(context, &bytecode, "linear.mlirbc").unwrap();
    assert_eq!(print_module(&reparsed, Default::default()), text);
    let error = parse_module(context, b"module { func.func @f( }", "broken.mlir").unwrap_err();
    assert!(
        matches!(&error, HloError::Parse { diagnostics, .. } if !diagnostics.is_empty()),
        "{error}"
    );
}

#[test]
fn keys_that_cannot_round_trip_through_text_are_refused() {
    let session = CompileOptions::default().session().unwrap();
    let context = session.context().unwrap();
    for (scope, key) in [
        ("model", "a\"b"),
        ("model", "back\\slash"),
        ("model", "new\nline"),
        ("sco\"pe", "k"),
    ] {
        let mut module = ModuleBuilder::new(
            context,
            "m",
            ConstantMaterializationPolicy::ExternalAlways,
            scope,
        );
        let mut main = module.function("main", &[]).unwrap();
        let spec = TensorSpec::dense(key, &[2], ElementType::F32);
        let error = main
            .weight(&spec, &BufferHandle::from_f32(&[1.0, 2.0]))
            .unwrap_err();
        assert!(
            matches!(&error, HloError::Weight { key: k, .. } if k == key),
            "{error}"
        );
    }
}

#[test]
fn unusual_but_printable_keys_round_trip_through_text() {
    let session = CompileOptions::default().session().unwrap();
    let context = session.context().unwrap();
    let key = "blk.0/attn q:weight#é";
    let mut module = ModuleBuilder::new(
        context,
        "m",
        ConstantMaterializationPolicy::ExternalAlways,
        "model",
    );
    let mut main = module.function("main", &[]).unwrap();
    let spec = TensorSpec::dense(key, &[2], ElementType::F32);
    let w = main
        .weight(&spec, &BufferHandle::from_f32(&[1.0, 2.0]))
        .unwrap();
    main.finish(&[w]).unwrap();
    let converted = module.finish().unwrap();
    let text = print_module(&converted.module, Default::default());
    assert!(
        text.contains(&format!("#flow.parameter.named<\"model\"::\"{key}\">")),
        "{text}"
    );
    let reparsed = parse_module(context, text.as_bytes(), "printed").unwrap();
    assert_eq!(print_module(&reparsed, Default::default()), text);
}

/// The escape hatch builds an op irex has no builder for, refuses one
/// MLIR does not know and an attribute it cannot parse, and leaves a wrong
/// op to the verifiers, named by its location.
#[test]
fn any_op_by_name_is_built_refused_or_verified() {
    let session = CompileOptions::default().session().unwrap();
    let mut module = inline_module(&session);
    let mut main = module.function("main", &[f32_tensor(&[3])]).unwrap();
    let x = main.argument(0);
    let sine = main
        .op(
            "stablehlo.sine",
            "hatch.sine",
            &[x],
            &[],
            &[f32_tensor(&[3])],
        )
        .unwrap();
    main.finish(&sine).unwrap();
    let text = print_module(&module.finish().unwrap().module, Default::default());
    assert!(
        text.contains("stablehlo.sine %arg0 : tensor<3xf32>"),
        "{text}"
    );

    let mut module = inline_module(&session);
    let mut main = module.function("main", &[f32_tensor(&[3])]).unwrap();
    let x = main.argument(0);
    let unknown = main
        .op(
            "stablehlo.no_such_op",
            "hatch.unknown",
            &[x],
            &[],
            &[f32_tensor(&[3])],
        )
        .unwrap_err();
    assert!(
        unknown
            .to_string()
            .contains("no op `stablehlo.no_such_op` is registered"),
        "{unknown}"
    );
    let attribute = main
        .attribute("hatch.bad", "#stablehlo<no_such_thing>")
        .unwrap_err();
    assert!(
        matches!(&attribute, HloError::Build { location, .. } if location == "hatch.bad"),
        "{attribute}"
    );
    // A result type the op's verifier refuses: built, then caught at finish.
    let wrong = main
        .op(
            "stablehlo.cosine",
            "hatch.wrong",
            &[x],
            &[],
            &[f32_tensor(&[4])],
        )
        .unwrap();
    main.finish(&wrong).unwrap();
    let Err(HloError::Verification { diagnostics }) = module.finish() else {
        panic!("a cosine of another shape must fail verification");
    };
    assert_eq!(
        diagnostics[0].location.as_deref(),
        Some("loc(\"hatch.wrong\")")
    );
}
