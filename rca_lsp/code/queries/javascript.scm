; JavaScript: ecmascript.scm (shared with TypeScript) and these. See java.scm for the capture-name contract.

(field_definition property: (_) @name value: [(arrow_function) (function_expression)]) @def.method
(class_declaration name: (_) @base.of (class_heritage (_) @base.type))
