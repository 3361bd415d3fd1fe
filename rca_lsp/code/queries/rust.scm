; Rust: see java.scm for the capture-name contract. An impl block or a module
; is a @scope: it prefixes the qualnames inside (Type.method) without being a
; symbol itself.

(struct_item name: (type_identifier) @name) @def.class
(enum_item name: (type_identifier) @name) @def.class
(trait_item name: (type_identifier) @name) @def.class
(union_item name: (type_identifier) @name) @def.class
(function_item name: (identifier) @name) @def.function
(function_signature_item name: (identifier) @name) @def.function
(impl_item type: (_) @scope.name) @scope
(mod_item name: (identifier) @scope.name body: (declaration_list)) @scope

(call_expression function: (identifier) @call.name)
(call_expression function: (field_expression value: (_) @call.receiver field: (field_identifier) @call.name))
(call_expression function: (scoped_identifier path: (_) @call.receiver name: (identifier) @call.name))

(let_declaration pattern: (identifier) @decl.name type: (_) @decl.type)
(parameter pattern: (identifier) @decl.name type: (_) @decl.type)
