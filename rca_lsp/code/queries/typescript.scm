; TypeScript and TSX: ecmascript.scm (shared with JavaScript) and these. See java.scm for the capture-name contract.

(abstract_class_declaration name: (_) @name) @def.class
(interface_declaration name: (_) @name) @def.class
(enum_declaration name: (_) @name) @def.class
(abstract_method_signature name: (_) @name) @def.method
(public_field_definition name: (_) @name value: [(arrow_function) (function_expression)]) @def.method
(internal_module name: (_) @scope.name) @scope
; Declared types: `const x: Foo`, `(x: Foo)`, `x?: Foo`, a typed field.
(variable_declarator name: (identifier) @decl.name type: (type_annotation) @decl.type)
(required_parameter pattern: (identifier) @decl.name type: (type_annotation) @decl.type)
(optional_parameter pattern: (identifier) @decl.name type: (type_annotation) @decl.type)
(public_field_definition name: (_) @decl.name type: (type_annotation) @decl.type)
; Supertypes: `extends` and `implements`.
(class_declaration name: (_) @base.of (class_heritage (extends_clause value: (_) @base.type)))
(class_declaration name: (_) @base.of (class_heritage (implements_clause (_) @base.type)))
(abstract_class_declaration name: (_) @base.of (class_heritage (extends_clause value: (_) @base.type)))
