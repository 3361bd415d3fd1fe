; Java: definitions, call sites, typed declarations and supertypes.
; Capture names are the contract with rca_lsp/code/outline.py and calls.py:
;   @def.<kind> + @name           a symbol (kind: class, method, constructor, function)
;   @call.name [+ @call.receiver] a call by name;  @new.type  a constructor call
;   @call.ref                     a method reference (Foo::bar, Foo::new)
;   @call.ctor                    this(...) / super(...)
;   @ref.type                     a class named as a value (Foo.class, "pkg.Foo" in a string):
;                                 reflection may construct it, so it counts as a constructor call
;   @import.static                a static import (its member, or its class with .*)
;   @decl.name + @decl.type [+ @decl.value]   a typed variable, parameter or field
;   @base.of + @base.type         a class and one of its supertypes

(class_declaration name: (identifier) @name) @def.class
(interface_declaration name: (identifier) @name) @def.class
(enum_declaration name: (identifier) @name) @def.class
(record_declaration name: (identifier) @name) @def.class
(annotation_type_declaration name: (identifier) @name) @def.class
(method_declaration name: (identifier) @name) @def.method
(annotation_type_element_declaration name: (identifier) @name) @def.method
(constructor_declaration name: (identifier) @name) @def.constructor
(compact_constructor_declaration name: (identifier) @name) @def.constructor

(method_invocation object: (_)? @call.receiver name: (identifier) @call.name)
(object_creation_expression type: (_) @new.type)
(method_reference) @call.ref
(explicit_constructor_invocation constructor: (_) @call.ctor)
(class_literal (_) @ref.type)
((string_fragment) @ref.type
  (#match? @ref.type "^([a-z_][a-z0-9_]*[.])+[A-Z][A-Za-z0-9_]*$"))
(import_declaration "static" (scoped_identifier) @import.static (asterisk)? @import.all)

(local_variable_declaration type: (_) @decl.type
  declarator: (variable_declarator name: (identifier) @decl.name value: (_)? @decl.value))
(field_declaration type: (_) @decl.type
  declarator: (variable_declarator name: (identifier) @decl.name value: (_)? @decl.value))
(constant_declaration type: (_) @decl.type
  declarator: (variable_declarator name: (identifier) @decl.name))
(formal_parameter type: (_) @decl.type name: (identifier) @decl.name)
(spread_parameter [(type_identifier) (generic_type) (scoped_type_identifier)] @decl.type
  (variable_declarator name: (identifier) @decl.name))
(enhanced_for_statement type: (_) @decl.type name: (identifier) @decl.name)
(catch_formal_parameter (catch_type (_) @decl.type) name: (identifier) @decl.name)
(resource type: (_) @decl.type name: (identifier) @decl.name)

(class_declaration name: (identifier) @base.of superclass: (superclass (_) @base.type))
(class_declaration name: (identifier) @base.of
  interfaces: (super_interfaces (type_list (_) @base.type)))
(enum_declaration name: (identifier) @base.of
  interfaces: (super_interfaces (type_list (_) @base.type)))
(interface_declaration name: (identifier) @base.of (extends_interfaces (type_list (_) @base.type)))
