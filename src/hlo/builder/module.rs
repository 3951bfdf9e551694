//! The module under construction: functions, parameter globals, and the
//! external parameter references collected on the way.

use std::collections::{HashMap, HashSet};

use melior::Context;
use melior::ir::attribute::{StringAttribute, TypeAttribute};
use melior::ir::block::BlockLike;
use melior::ir::operation::{OperationBuilder, OperationLike, OperationMutLike};
use melior::ir::{Attribute, Identifier, Location, Module, Operation, Type};

use super::operation::capture_diagnostics;
use super::policy::{ConstantMaterializationPolicy, ExternalParameterRef};
use super::types::TensorType;
use crate::hlo::HloError;

/// A module being built in an IREE session's context.
pub struct ModuleBuilder<'c> {
    context: &'c Context,
    module: Module<'c>,
    policy: ConstantMaterializationPolicy,
    scope: String,
    parameters: Vec<ExternalParameterRef>,
    symbols: HashSet<String>,
    /// Parameter key → (global symbol, type source), so functions share one global.
    declared: HashMap<String, (String, String)>,
    global_count: usize,
}

/// A verified module and the parameters its globals read from the `.irpa`.
pub struct ConvertedModule<'c> {
    /// The verified module.
    pub module: Module<'c>,
    /// External weights, in the order their globals were declared.
    pub parameters: Vec<ExternalParameterRef>,
    /// The parameter scope the globals name.
    pub scope: String,
}

impl<'c> ModuleBuilder<'c> {
    /// Starts an empty module named `name` whose external weights use `scope`.
    pub fn new(
        context: &'c Context,
        name: &str,
        policy: ConstantMaterializationPolicy,
        scope: &str,
    ) -> Self {
        let location = Location::name(context, name, Location::unknown(context));
        let mut module = Module::new(location);
        module
            .as_operation_mut()
            .set_attribute("sym_name", StringAttribute::new(context, name).into());
        Self {
            context,
            module,
            policy,
            scope: scope.to_string(),
            parameters: Vec::new(),
            symbols: HashSet::new(),
            declared: HashMap::new(),
            global_count: 0,
        }
    }

    /// Returns the context ops are built in.
    pub fn context(&self) -> &'c Context {
        self.context
    }

    /// Returns the weight policy.
    pub fn policy(&self) -> ConstantMaterializationPolicy {
        self.policy
    }

    /// Returns the parameter scope external weights are declared under.
    pub fn scope(&self) -> &str {
        &self.scope
    }

    /// Returns a name location: every op carries the model node it came from.
    pub fn location(&self, name: &str) -> Location<'c> {
        Location::name(self.context, name, Location::unknown(self.context))
    }

    pub(in crate::hlo) fn append(&self, operation: Operation<'c>) {
        self.module.body().append_operation(operation);
    }

    pub(in crate::hlo) fn claim_symbol(&mut self, name: &str) -> Result<(), HloError> {
        if self.symbols.insert(name.to_string()) {
            Ok(())
        } else {
            Err(HloError::DuplicateSymbol {
                symbol: name.to_string(),
            })
        }
    }

    /// Declares `util.global private @SYMBOL = #flow.parameter.named<scope::key>`
    /// for an external weight and returns the symbol; a key declared before
    /// (by another function) returns its existing global.
    pub(in crate::hlo) fn declare_parameter(
        &mut self,
        reference: ExternalParameterRef,
        r#type: &TensorType,
    ) -> Result<String, HloError> {
        self.declare_typed_parameter(reference, r#type.to_mlir(self.context), &r#type.to_string())
    }

    /// [`Self::declare_parameter`] for any tensor type, given with the text
    /// of its MLIR form (`type_source`, which names it in the attribute).
    pub(in crate::hlo) fn declare_typed_parameter(
        &mut self,
        reference: ExternalParameterRef,
        mlir_type: Type<'c>,
        type_source: &str,
    ) -> Result<String, HloError> {
        let refuse = |message| HloError::Weight {
            key: reference.key.clone(),
            message,
        };
        check_parameter_name("scope", &reference.scope).map_err(refuse)?;
        check_parameter_name("key", &reference.key).map_err(refuse)?;
        if let Some((symbol, declared_type)) = self.declared.get(&reference.key) {
            if declared_type != type_source {
                return Err(refuse(format!(
                    "declared as {declared_type} and again as {type_source}"
                )));
            }
            return Ok(symbol.clone());
        }
        let symbol = self.unique_symbol(&reference.key);
        let location = self.location(&reference.spec.name);
        let source = format!(
            "#flow.parameter.named<{}::{}> : {}",
            string_literal(&reference.scope),
            string_literal(&reference.key),
            type_source
        );
        let build_error = |diagnostics| HloError::Build {
            what: "#flow.parameter.named".into(),
            location: reference.spec.name.clone(),
            diagnostics,
        };
        let (parsed, diagnostics) =
            capture_diagnostics(self.context, || Attribute::parse(self.context, &source));
        let initial_value = parsed.ok_or_else(|| build_error(diagnostics))?;
        let context = self.context;
        let global = OperationBuilder::new("util.global", location)
            .add_attributes(&[
                (
                    Identifier::new(context, "sym_name"),
                    StringAttribute::new(context, &symbol).into(),
                ),
                (
                    Identifier::new(context, "sym_visibility"),
                    StringAttribute::new(context, "private").into(),
                ),
                (
                    Identifier::new(context, "type"),
                    TypeAttribute::new(mlir_type).into(),
                ),
                (Identifier::new(context, "initial_value"), initial_value),
            ])
            .build()
            .map_err(|_| build_error(Vec::new()))?;
        self.module
            .body()
            .insert_operation(self.global_count, global);
        self.global_count += 1;
        self.declared.insert(
            reference.key.clone(),
            (symbol.clone(), type_source.to_string()),
        );
        self.parameters.push(reference);
        Ok(symbol)
    }

    /// Turns a parameter key into a fresh symbol name: `blk.0.attn_q.weight`
    /// becomes `@blk_0_attn_q_weight` (with a numeric suffix if taken).
    fn unique_symbol(&mut self, key: &str) -> String {
        let mut base: String = key
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        if !base.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
            base.insert(0, '_');
        }
        let mut symbol = base.clone();
        let mut suffix = 1;
        while !self.symbols.insert(symbol.clone()) {
            symbol = format!("{base}_{suffix}");
            suffix += 1;
        }
        symbol
    }

    /// Verifies the module with the real verifiers and returns it with its
    /// external parameters.
    pub fn finish(self) -> Result<ConvertedModule<'c>, HloError> {
        let (verified, diagnostics) =
            capture_diagnostics(self.context, || self.module.as_operation().verify());
        if !verified {
            return Err(HloError::Verification { diagnostics });
        }
        Ok(ConvertedModule {
            module: self.module,
            parameters: self.parameters,
            scope: self.scope,
        })
    }
}

/// Quotes `text` as an MLIR string literal, escaping what the parser needs
/// escaped (`"`, `\\`, control bytes) as `\\XX`.
pub fn string_literal(text: &str) -> String {
    let mut quoted = String::with_capacity(text.len() + 2);
    quoted.push('"');
    for c in text.chars() {
        if c == '"' || c == '\\' || c.is_ascii_control() {
            quoted.push_str(&format!("\\{:02X}", c as u8));
        } else {
            quoted.push(c);
        }
    }
    quoted.push('"');
    quoted
}

/// Refuses a parameter scope or key that would not survive a text round
/// trip. IREE's printer writes `#flow.parameter.named` strings between quotes
/// without escaping them, so a `"`, a `\\` or a control character would print
/// as MLIR that no parser reads back (or reads as another key).
pub(in crate::hlo) fn check_parameter_name(what: &str, name: &str) -> Result<(), String> {
    if name.is_empty() && what == "key" {
        return Err("the key is empty".into());
    }
    match name
        .chars()
        .find(|&c| c == '"' || c == '\\' || c.is_control())
    {
        Some(c) => Err(format!(
            "{what} `{}` holds {c:?}, which IREE's printer does not escape in #flow.parameter.named",
            name.escape_debug()
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::string_literal;

    #[test]
    fn string_literals_escape_quotes_and_control_bytes() {
        assert_eq!(string_literal("blk.0.w"), "\"blk.0.w\"");
        assert_eq!(string_literal("a\"b\\c\n"), "\"a\\22b\\5Cc\\0A\"");
        assert_eq!(string_literal("é"), "\"é\"");
    }
}
