; Python: see java.scm for the capture-name contract.
; A decorated definition's range starts at its first decorator: a hunk that
; edits a decorator touches the function.

(class_definition name: (identifier) @name) @def.class
(function_definition name: (identifier) @name) @def.function
(decorated_definition definition: (class_definition name: (identifier) @name)) @def.class
(decorated_definition definition: (function_definition name: (identifier) @name)) @def.function

(call function: (identifier) @call.name)
(call function: (attribute object: (_) @call.receiver attribute: (identifier) @call.name))

(typed_parameter (identifier) @decl.name type: (type) @decl.type)
(typed_default_parameter name: (identifier) @decl.name type: (type) @decl.type)
(assignment left: (identifier) @decl.name type: (type) @decl.type)
(assignment left: (identifier) @decl.name right: (call function: (identifier) @decl.type))
(assignment left: (identifier) @decl.name right: (call function: (attribute attribute: (identifier) @decl.type)))

(class_definition name: (identifier) @base.of
  superclasses: (argument_list [(identifier) (attribute)] @base.type))
