//! The signatures of a module's public functions, read back from the module
//! itself rather than written down by hand: names from the `iree.abi.name`
//! argument and result attributes (which IREE's ABI keeps and
//! `iree-dump-module` prints), types from `function_type`.

use melior::ir::attribute::{ArrayAttribute, DictionaryAttribute, StringAttribute, TypeAttribute};
use melior::ir::block::BlockLike;
use melior::ir::operation::OperationLike;
use melior::ir::r#type::FunctionType;
use melior::ir::{Module, OperationRef};

use crate::formats::manifest::{FunctionSignature, TensorSignature};
use crate::hlo::HloError;

/// The attribute that names an argument or result.
pub const NAME_ATTRIBUTE: &str = "iree.abi.name";

/// Returns every public `func.func` of `module`, in order, with the names
/// and types of its arguments and results (unnamed ones are `inputN` and
/// `outputN`, as IREE calls them).
pub fn function_signatures(module: &Module<'_>) -> Result<Vec<FunctionSignature>, HloError> {
    let mut signatures = Vec::new();
    let mut next = module.body().first_operation();
    while let Some(operation) = next {
        if is_public_function(&operation) {
            signatures.push(signature(&operation)?);
        }
        next = operation.next_in_block();
    }
    Ok(signatures)
}

fn is_public_function(operation: &OperationRef<'_, '_>) -> bool {
    let name = operation.name();
    let is_function = name.as_string_ref().as_str() == Ok("func.func");
    let visibility = operation
        .attribute("sym_visibility")
        .ok()
        .and_then(|attribute| StringAttribute::try_from(attribute).ok())
        .map(|visibility| visibility.value());
    is_function && matches!(visibility, None | Some("public"))
}

fn signature(operation: &OperationRef<'_, '_>) -> Result<FunctionSignature, HloError> {
    let malformed = || HloError::build("func.func signature", &operation.location().to_string());
    let name = operation
        .attribute("sym_name")
        .ok()
        .and_then(|attribute| StringAttribute::try_from(attribute).ok())
        .ok_or_else(malformed)?
        .value()
        .to_string();
    let function_type = operation
        .attribute("function_type")
        .ok()
        .and_then(|attribute| TypeAttribute::try_from(attribute).ok())
        .and_then(|attribute| FunctionType::try_from(attribute.value()).ok())
        .ok_or_else(malformed)?;
    let side = |count: usize, attributes: &str, prefix: &str, nth: &dyn Fn(usize) -> String| {
        (0..count)
            .map(|index| TensorSignature {
                name: abi_name(operation, attributes, index)
                    .unwrap_or_else(|| format!("{prefix}{index}")),
                r#type: nth(index),
            })
            .collect()
    };
    let input = |index| {
        function_type
            .input(index)
            .map(|t| t.to_string())
            .unwrap_or_default()
    };
    let result = |index| {
        function_type
            .result(index)
            .map(|t| t.to_string())
            .unwrap_or_default()
    };
    Ok(FunctionSignature {
        name,
        inputs: side(function_type.input_count(), "arg_attrs", "input", &input),
        outputs: side(function_type.result_count(), "res_attrs", "output", &result),
    })
}

/// The `iree.abi.name` of argument or result `index`, if it has one.
fn abi_name(operation: &OperationRef<'_, '_>, attributes: &str, index: usize) -> Option<String> {
    let array = ArrayAttribute::try_from(operation.attribute(attributes).ok()?).ok()?;
    let dictionary = DictionaryAttribute::try_from(array.element(index).ok()?).ok()?;
    let name = StringAttribute::try_from(dictionary.element_by_name(NAME_ATTRIBUTE)?).ok()?;
    Some(name.value().to_string())
}
