; C++: see java.scm for the capture-name contract. An out-of-line definition
; (void Foo::bar() {...}) names its class through a qualified identifier,
; which outline.py splits into owner and name.

(function_definition declarator: (function_declarator declarator: (_) @name)) @def.function
(function_definition declarator: (pointer_declarator declarator: (function_declarator declarator: (_) @name))) @def.function
(function_definition declarator: (reference_declarator (function_declarator declarator: (_) @name))) @def.function
(class_specifier name: (type_identifier) @name body: (field_declaration_list)) @def.class
(struct_specifier name: (type_identifier) @name body: (field_declaration_list)) @def.class

(call_expression function: (identifier) @call.name)
(call_expression function: (field_expression argument: (_) @call.receiver field: (_) @call.name))
(call_expression function: (qualified_identifier scope: (_) @call.receiver name: (_) @call.name))
(call_expression function: (template_function name: (identifier) @call.name))
(new_expression type: (_) @new.type)

(declaration type: (type_identifier) @decl.type declarator: (identifier) @decl.name)
(declaration type: (type_identifier) @decl.type declarator: (init_declarator declarator: (identifier) @decl.name))
(parameter_declaration type: (_) @decl.type declarator: [(identifier) @decl.name
  (reference_declarator (identifier) @decl.name) (pointer_declarator declarator: (identifier) @decl.name)])

(class_specifier name: (type_identifier) @base.of (base_class_clause (type_identifier) @base.type))
(struct_specifier name: (type_identifier) @base.of (base_class_clause (type_identifier) @base.type))
