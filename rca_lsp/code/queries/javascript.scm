; JavaScript: see java.scm for the capture-name contract.

(class_declaration name: (_) @name) @def.class
(function_declaration name: (identifier) @name) @def.function
(generator_function_declaration name: (identifier) @name) @def.function
(method_definition name: (_) @name) @def.method
(field_definition property: (_) @name value: [(arrow_function) (function_expression)]) @def.method
(variable_declarator name: (identifier) @name
  value: [(arrow_function) (function_expression) (generator_function)]) @def.function
(variable_declarator name: (identifier) @name value: (class)) @def.class
(assignment_expression left: [(identifier) @name (member_expression property: (_) @name)]
  right: [(arrow_function) (function_expression)]) @def.function
(pair key: [(property_identifier) (string)] @name
  value: [(arrow_function) (function_expression)]) @def.function

(call_expression function: (identifier) @call.name)
(call_expression function: (member_expression object: (_) @call.receiver property: (_) @call.name))
(new_expression constructor: (_) @new.type)

(variable_declarator name: (identifier) @decl.name value: (new_expression constructor: (_) @decl.type))

(class_declaration name: (_) @base.of (class_heritage (_) @base.type))
