; Go: see java.scm for the capture-name contract. @owner names a method's
; receiver type, so its qualname is Type.Method.

(type_spec name: (type_identifier) @name type: [(struct_type) (interface_type)]) @def.class
(function_declaration name: (identifier) @name) @def.function
(method_declaration receiver: (parameter_list (parameter_declaration type: (_) @owner))
  name: (field_identifier) @name) @def.method

(call_expression function: (identifier) @call.name)
(call_expression function: (selector_expression operand: (_) @call.receiver field: (field_identifier) @call.name))

(parameter_declaration name: (identifier) @decl.name type: (_) @decl.type)
(var_spec name: (identifier) @decl.name type: (_) @decl.type)
(short_var_declaration left: (expression_list . (identifier) @decl.name)
  right: (expression_list . (composite_literal type: (_) @decl.type)))
(short_var_declaration left: (expression_list . (identifier) @decl.name)
  right: (expression_list . (unary_expression operand: (composite_literal type: (_) @decl.type))))

; A function handed over as an argument, which the callee calls: `f.getFlagType(name, "int32",
; int32Conv)`, `sort.Slice(xs, less)`. Kept only where the file defines it (calls._argument_reference).
(call_expression arguments: (argument_list (identifier) @ref.arg))
