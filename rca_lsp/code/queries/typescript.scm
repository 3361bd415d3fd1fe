; TypeScript and TSX: see java.scm for the capture-name contract.

(class_declaration name: (_) @name) @def.class
(abstract_class_declaration name: (_) @name) @def.class
(interface_declaration name: (_) @name) @def.class
(enum_declaration name: (_) @name) @def.class
(function_declaration name: (identifier) @name) @def.function
(generator_function_declaration name: (identifier) @name) @def.function
(method_definition name: (_) @name) @def.method
(abstract_method_signature name: (_) @name) @def.method
(public_field_definition name: (_) @name value: [(arrow_function) (function_expression)]) @def.method
(variable_declarator name: (identifier) @name
  value: [(arrow_function) (function_expression) (generator_function)]) @def.function
(variable_declarator name: (identifier) @name value: (class)) @def.class
(assignment_expression left: [(identifier) @name (member_expression property: (_) @name)]
  right: [(arrow_function) (function_expression)]) @def.function
(pair key: [(property_identifier) (string)] @name
  value: [(arrow_function) (function_expression)]) @def.function
(internal_module name: (_) @scope.name) @scope

(call_expression function: (identifier) @call.name)
(call_expression function: (member_expression object: (_) @call.receiver property: (_) @call.name))
(new_expression constructor: (_) @new.type)

(variable_declarator name: (identifier) @decl.name value: (new_expression constructor: (_) @decl.type))
(variable_declarator name: (identifier) @decl.name type: (type_annotation) @decl.type)
(required_parameter pattern: (identifier) @decl.name type: (type_annotation) @decl.type)
(optional_parameter pattern: (identifier) @decl.name type: (type_annotation) @decl.type)
(public_field_definition name: (_) @decl.name type: (type_annotation) @decl.type)

(class_declaration name: (_) @base.of (class_heritage (extends_clause value: (_) @base.type)))
(class_declaration name: (_) @base.of (class_heritage (implements_clause (_) @base.type)))
(abstract_class_declaration name: (_) @base.of (class_heritage (extends_clause value: (_) @base.type)))
