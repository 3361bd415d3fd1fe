; Python: see java.scm for the capture-name contract.
; A decorated definition's range starts at its first decorator: a hunk that
; edits a decorator touches the function.

(class_definition name: (identifier) @name) @def.class
(function_definition name: (identifier) @name) @def.function
(decorated_definition definition: (class_definition name: (identifier) @name)) @def.class
(decorated_definition definition: (function_definition name: (identifier) @name)) @def.function

(call function: (identifier) @call.name)
(call function: (attribute object: (_) @call.receiver attribute: (identifier) @call.name))

; `from M import f [as g]`: a bare `g(...)` runs M's f (receivers.PythonImports).
(import_from_statement module_name: (_) @import.from name: (dotted_name) @import.name)
(import_from_statement module_name: (_) @import.from
  name: (aliased_import name: (dotted_name) @import.name alias: (identifier) @import.alias))
(import_statement name: (dotted_name) @import.module)
(import_statement name: (aliased_import name: (dotted_name) @import.module alias: (identifier) @import.alias))

; A function handed over as an argument is called by its callee (`assertRaises(E, f, x)`,
; `sorted(xs, key=_key)`, `runner.invoke(cli, args)`); calls.py keeps only the file's own top-level
; functions, from-imported names and members of from-imported modules or of classes.
(call arguments: (argument_list (identifier) @ref.arg))
(call arguments: (argument_list (keyword_argument value: (identifier) @ref.arg)))
(call arguments: (argument_list
  (attribute object: (identifier) @ref.receiver attribute: (identifier) @ref.arg)))
(call arguments: (argument_list
  (keyword_argument value: (attribute object: (identifier) @ref.receiver attribute: (identifier) @ref.arg))))

(typed_parameter (identifier) @decl.name type: (type) @decl.type)
(typed_default_parameter name: (identifier) @decl.name type: (type) @decl.type)
(assignment left: (identifier) @decl.name type: (type) @decl.type)
(assignment left: (identifier) @decl.name right: (call function: (identifier) @decl.type))
(assignment left: (identifier) @decl.name right: (call function: (attribute attribute: (identifier) @decl.type)))
; `self.factory = factory.ArrowFactory()` in `setUp` or `__init__` types `self.factory` in every method
; of the class (receivers.Declarations files it under the class).
(assignment left: (attribute object: (identifier) @_self attribute: (identifier) @decl.name)
  type: (type) @decl.type (#eq? @_self "self"))
(assignment left: (attribute object: (identifier) @_self attribute: (identifier) @decl.name)
  right: (call function: (identifier) @decl.type) (#eq? @_self "self"))
(assignment left: (attribute object: (identifier) @_self attribute: (identifier) @decl.name)
  right: (call function: (attribute attribute: (identifier) @decl.type)) (#eq? @_self "self"))

(class_definition name: (identifier) @base.of
  superclasses: (argument_list [(identifier) (attribute)] @base.type))
