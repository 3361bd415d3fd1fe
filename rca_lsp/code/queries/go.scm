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

; An interface's methods are its members (`Store.Get`), so a call on a parameter of type Store has
; a declared target; the types that implement Store are found by their method sets (Go has no
; `implements`: resolve.Resolver._implementations).
(type_spec type: (interface_type (method_elem name: (field_identifier) @name) @def.method))
; Embedding: a struct's embedded type lends it its methods (`type Server struct { *Base }`: a call of
; Base's method on a Server runs it), and an interface that embeds another has its methods too.
(type_spec name: (type_identifier) @base.of
  type: (struct_type (field_declaration_list (field_declaration !name type: (_) @base.type))))
(type_spec name: (type_identifier) @base.of type: (interface_type (type_elem (_) @base.type)))
