//! The parts of IREE's compiler library irex relies on, exercised through
//! the bindings irex links (mlir-sys over LLVM 22's MLIR C headers, against
//! the `libIREECompiler.so` of the pinned `iree-base-compiler` wheel): the
//! API version, building and verifying in the session's context, bytecode
//! written and read back, diagnostics with their notes and locations, raw
//! dense buffers, and the embedding API compiling what was built. A wheel
//! whose ABI drifts from the headers fails here first, by name.

use irex::diagnostic::Severity;
use irex::hlo::{
    ConstantMaterializationPolicy, HloError, ModuleBuilder, parse_module, print_module,
};
use irex::iree::{API_MAJOR_VERSION, CompileOptions, api_version, compile_module, revision};
use irex::melior::ir::operation::OperationLike;
use irex::models::tutorial::Example;
use irex::tensor::{BufferHandle, ElementType, TensorSpec};

#[test]
fn the_library_speaks_the_api_version_the_bindings_were_written_for() {
    let (major, minor) = api_version();
    assert_eq!(major, API_MAJOR_VERSION, "API {major}.{minor}");
    assert!(!revision().is_empty(), "the library names its revision");
    CompileOptions::default()
        .session()
        .expect("a session starts");
}

#[test]
fn a_module_built_in_memory_survives_bytecode_and_compiles() {
    let session = CompileOptions::default().session().unwrap();
    let context = session.context().unwrap();
    let policy = ConstantMaterializationPolicy::ExternalAlways;
    let mut module = ModuleBuilder::new(context, "abi", policy, "model");
    Example::Int8Linear.build(&mut module).unwrap();
    let converted = module.finish().unwrap();
    let text = print_module(&converted.module, Default::default());
    assert!(
        text.contains("!quant.uniform<i8:f32:0, {5.000000e-01,2.500000e-01:-2}>"),
        "{text}"
    );
    let bytecode = converted.module.as_operation().write_bytecode();
    assert!(bytecode.starts_with(b"ML\xefR"), "MLIR bytecode magic");
    let reparsed = parse_module(context, &bytecode, "abi.mlirbc").unwrap();
    assert_eq!(print_module(&reparsed, Default::default()), text);
    let folder = tempfile::tempdir().unwrap();
    let vmfb = folder.path().join("abi.vmfb");
    irex::export::compile_to_vmfb(&session, &reparsed, &vmfb).unwrap();
    assert!(std::fs::metadata(&vmfb).unwrap().len() > 0);
}

#[test]
fn diagnostics_arrive_with_their_notes_and_locations() {
    let session = CompileOptions::default().session().unwrap();
    let context = session.context().unwrap();
    let text = br#"func.func @f() { return } loc("first")
func.func @f() { return } loc("second")"#;
    let Err(HloError::Parse { diagnostics, .. }) = parse_module(context, text, "twice.mlir") else {
        panic!("a symbol defined twice must not parse");
    };
    let error = diagnostics
        .iter()
        .find(|d| d.severity == Severity::Error)
        .expect("an error");
    assert!(
        error.message.contains("redefinition of symbol named 'f'"),
        "{error}"
    );
    assert_eq!(error.location.as_deref(), Some("loc(\"second\")"));
    let notes: Vec<_> = diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Note)
        .collect();
    assert!(
        notes
            .iter()
            .any(|note| note.location.as_deref() == Some("loc(\"first\")")),
        "a note points at the first definition: {notes:?}"
    );
}

#[test]
fn raw_dense_buffers_keep_their_bytes() {
    // Inline weights are DenseElementsAttrs made from raw little-endian
    // bytes; their printed values are what the bytes mean.
    let session = CompileOptions::default().session().unwrap();
    let context = session.context().unwrap();
    let policy = ConstantMaterializationPolicy::InlineAlways;
    let mut module = ModuleBuilder::new(context, "raw", policy, "model");
    let cases = [
        (
            ElementType::F32,
            [1.5f32.to_le_bytes(), 2.0f32.to_le_bytes()].concat(),
            "[1.500000e+00, 2.000000e+00]",
        ),
        (
            ElementType::F16,
            [0x00, 0x3c, 0x00, 0xc0].to_vec(),
            "[1.000000e+00, -2.000000e+00]",
        ),
        (ElementType::I8, [0x7f, 0x80].to_vec(), "[127, -128]"),
    ];
    let mut function = module.function("main", &[]).unwrap();
    let mut results = Vec::new();
    for (index, (element, bytes, _)) in cases.iter().enumerate() {
        let spec = TensorSpec::dense(format!("w{index}"), &[2], *element);
        results.push(
            function
                .weight(&spec, &BufferHandle::owned(bytes.clone()))
                .unwrap(),
        );
    }
    function.finish(&results).unwrap();
    let converted = module.finish().unwrap();
    let text = print_module(&converted.module, Default::default());
    for (element, _, printed) in &cases {
        let expected = format!("dense<{printed}> : tensor<2x{element}>");
        assert!(text.contains(&expected), "{expected} in:\n{text}");
    }
    let bool_weight = TensorSpec::dense("flags", &[8], ElementType::Bool);
    let mut module = ModuleBuilder::new(context, "bools", policy, "model");
    let mut function = module.function("main", &[]).unwrap();
    let refused = function.weight(&bool_weight, &BufferHandle::owned(vec![1; 8]));
    assert!(
        matches!(refused, Err(HloError::Weight { .. })),
        "boolean weights are refused"
    );
    let folder = tempfile::tempdir().unwrap();
    let converted_path = folder.path().join("raw.vmfb");
    compile_module(&session, &converted.module, &converted_path).unwrap();
}
