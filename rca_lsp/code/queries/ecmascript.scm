; JavaScript and TypeScript (and TSX) share these patterns; javascript.scm and typescript.scm
; add what only one grammar has (languages.QUERY_FILES). See java.scm for the capture-name contract.

(class_declaration name: (_) @name) @def.class
(function_declaration name: (identifier) @name) @def.function
(generator_function_declaration name: (identifier) @name) @def.function
(method_definition name: (_) @name) @def.method
(variable_declarator name: (identifier) @name
  value: [(arrow_function) (function_expression) (generator_function)]) @def.function
(variable_declarator name: (identifier) @name value: (class)) @def.class
(assignment_expression left: [(identifier) @name (member_expression property: (_) @name)]
  right: [(arrow_function) (function_expression)]) @def.function
; A method put on a constructor's prototype (`_Set.prototype.add = function (item) {..}`) is the
; constructor's member, `_Set.add`, which a call on a `new _Set()` runs.
(assignment_expression
  left: (member_expression
    object: (member_expression object: (identifier) @owner property: (property_identifier) @_prototype)
    property: (_) @name)
  right: [(arrow_function) (function_expression)]
  (#eq? @_prototype "prototype")) @def.method
; A named function expression, and a wrapped one: `var add = _curry2(function add(a, b) {..})`,
; `const View = memo((props) => ..)`, `React.memo(..)`, `_.debounce(..)`. A method of a value given a
; callback (`const kept = xs.filter((x) => ..)`) makes a value, not a function.
(function_expression name: (identifier) @name) @def.function
(variable_declarator name: (identifier) @name
  value: (call_expression function: (identifier)
    arguments: (arguments [(arrow_function) (function_expression !name)]))) @def.function
(variable_declarator name: (identifier) @name
  value: (call_expression function: (member_expression object: (identifier) @_namespace)
    arguments: (arguments [(arrow_function) (function_expression !name)]))
  (#match? @_namespace "^[A-Z_$]")) @def.function
(pair key: [(property_identifier) (string)] @name
  value: [(arrow_function) (function_expression)]) @def.function

; Test callbacks of Mocha, Jest, Jasmine, Vitest and node:test: `it("title", () => {..})` is a
; function named by its title (the name a runner prints), `describe("suite", ..)` a scope, so the
; failing test has a body to walk from and the calls in it have a caller.
(call_expression
  function: [(identifier) @_test (member_expression object: (identifier) @_test)]
  arguments: (arguments . (_) @name . [(arrow_function) (function_expression)])
  (#match? @_test "^(it|test|specify)$")) @def.function
; A title the test computes (`it(path.basename(file), ..)` in a loop) or fills from a table (Jest's
; `test.each(rows)("adds %i", ..)`): the name is a pattern (outline.test_title), found by the frames
; inside it.
(call_expression
  function: (call_expression function: (member_expression object: (identifier) @_test property: (property_identifier) @_each))
  arguments: (arguments . (_) @name . [(arrow_function) (function_expression)])
  (#match? @_test "^(it|test)$") (#eq? @_each "each")) @def.function
(call_expression
  function: [(identifier) @_suite (member_expression object: (identifier) @_suite)]
  arguments: (arguments . [(string) (template_string)] @scope.name . [(arrow_function) (function_expression)])
  (#match? @_suite "^(describe|context|suite)$")) @scope

(call_expression function: (identifier) @call.name)
(call_expression function: (member_expression object: (_) @call.receiver property: (_) @call.name))
(new_expression constructor: (_) @new.type)

(variable_declarator name: (identifier) @decl.name value: (new_expression constructor: (_) @decl.type))


; Modules: `const x = require("./m")`, `import x from "./m"`, `import * as x from "./m"` bind x to
; module m; `const {f, g: h} = require("./m")`, `import {f, g as h} from "./m"` bind h to m's g
; (receivers.ScriptImports).
(variable_declarator name: (identifier) @import.binding
  value: (call_expression function: (identifier) @_require arguments: (arguments . (string) @import.source))
  (#eq? @_require "require"))
(variable_declarator
  name: (object_pattern [(shorthand_property_identifier_pattern) @import.member
                         (pair_pattern key: (_) @import.member value: (identifier) @import.alias)])
  value: (call_expression function: (identifier) @_require arguments: (arguments . (string) @import.source))
  (#eq? @_require "require"))
(import_statement (import_clause (identifier) @import.binding) source: (string) @import.source)
(import_statement (import_clause (namespace_import (identifier) @import.binding)) source: (string) @import.source)
(import_statement (import_clause (named_imports (import_specifier name: (identifier) @import.member
  alias: (identifier)? @import.alias))) source: (string) @import.source)

; A module's default export, what a binding of the module runs when called (`const snippet =
; require("./snippet"); snippet(..)`): `module.exports = f`, `module.exports = function f(..)`,
; `export default f`, `export default function f(..)`.
(assignment_expression
  left: (member_expression object: (identifier) @_module property: (property_identifier) @_exports)
  right: [(identifier) @export.default (function_expression name: (identifier) @export.default)]
  (#eq? @_module "module") (#eq? @_exports "exports"))
(export_statement value: (identifier) @export.default)
(export_statement "default" declaration: (function_declaration name: (identifier) @export.default))
