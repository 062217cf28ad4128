#!/usr/bin/env python3
"""varlink-to-md: turns one varlink interface definition (a .varlink file) into Markdown.

The output has the interface's doc comment, then its methods (doc comment, input and output
fields as tables with their types and field comments), its types and its errors, each with an
anchor that type references link to. The parser is strict: a file that is not a valid varlink
interface (a syntax error, a name of the wrong form, a member or field defined twice, a
reference to a type that is not defined) is refused with "FILE:LINE:COLUMN: message" on stderr
and exit status 1, and no output file is written, so a build that runs this fails on it.

Usage: varlink-to-md.py INPUT [-o OUTPUT]     (OUTPUT "-" or absent: stdout)
"""

import argparse
import os
import re
import sys
import tempfile

BUILTIN_TYPES = ("bool", "int", "float", "string", "object")
INTERFACE_NAME = re.compile(r"[A-Za-z](?:-*[A-Za-z0-9])*(?:\.[A-Za-z0-9](?:-*[A-Za-z0-9])*)+")
MEMBER_NAME = re.compile(r"[A-Z][A-Za-z0-9]*")
FIELD_NAME = re.compile(r"[A-Za-z](?:_?[A-Za-z0-9])*")


class ParseError(Exception):
    def __init__(self, line, column, message):
        super().__init__(message)
        self.line = line
        self.column = column
        self.message = message


class Token:
    """One token: kind is "word", "punct", "comment" or "eof"; text is what it holds (for a
    comment, the text after "#" with one leading space removed); blank_before tells whether an
    empty line separates it from the previous token."""

    def __init__(self, kind, text, line, column, blank_before):
        self.kind = kind
        self.text = text
        self.line = line
        self.column = column
        self.blank_before = blank_before


def tokenize(text):
    tokens = []
    line, column, i = 1, 1, 0
    newlines = 0
    while i < len(text):
        c = text[i]
        if c == "\n":
            newlines += 1
            line, column, i = line + 1, 1, i + 1
            continue
        if c in " \t\r":
            column, i = column + 1, i + 1
            continue
        blank = newlines >= 2
        newlines = 0
        if c == "#":
            end = text.find("\n", i)
            end = len(text) if end < 0 else end
            body = text[i + 1:end]
            tokens.append(Token("comment", body[1:] if body.startswith(" ") else body,
                                line, column, blank))
            column += end - i
            i = end
            continue
        if text.startswith("->", i):
            tokens.append(Token("punct", "->", line, column, blank))
            column, i = column + 2, i + 2
            continue
        if c in "():,?[]":
            tokens.append(Token("punct", c, line, column, blank))
            column, i = column + 1, i + 1
            continue
        m = re.compile(r"[A-Za-z0-9_.-]+").match(text, i)
        if not m:
            raise ParseError(line, column, "unexpected character %r" % c)
        tokens.append(Token("word", m.group(0), line, column, blank))
        column += len(m.group(0))
        i = m.end()
    tokens.append(Token("eof", "", line, column, newlines >= 2))
    return tokens


class Type:
    """A type expression: kind is "builtin", "named", "optional", "array", "map", "struct" or
    "enum". inner is the element type of optional/array/map; fields the Fields of a struct;
    values the (name, doc) pairs of an enum; name the builtin or named type."""

    def __init__(self, kind, name=None, inner=None, fields=None, values=None, line=0, column=0):
        self.kind = kind
        self.name = name
        self.inner = inner
        self.fields = fields or []
        self.values = values or []
        self.line = line
        self.column = column


class Field:
    def __init__(self, name, type_, doc):
        self.name = name
        self.type = type_
        self.doc = doc


class Member:
    """A type, method or error of the interface."""

    def __init__(self, kind, name, doc, line, column, type_=None, input_=None, output=None):
        self.kind = kind
        self.name = name
        self.doc = doc
        self.line = line
        self.column = column
        self.type = type_
        self.input = input_
        self.output = output


class Interface:
    def __init__(self, name, doc, members):
        self.name = name
        self.doc = doc
        self.members = members


class Parser:
    def __init__(self, text):
        self.tokens = tokenize(text)
        self.pos = 0

    def peek(self):
        return self.tokens[self.pos]

    def fail(self, token, message):
        raise ParseError(token.line, token.column, message)

    def next(self):
        t = self.tokens[self.pos]
        if t.kind != "eof":
            self.pos += 1
        return t

    def expect_punct(self, text):
        t = self.next()
        if t.kind != "punct" or t.text != text:
            self.fail(t, "expected '%s', found %s" % (text, describe(t)))
        return t

    def expect_word(self, what, pattern=None):
        t = self.next()
        if t.kind != "word":
            self.fail(t, "expected %s, found %s" % (what, describe(t)))
        if pattern and not pattern.fullmatch(t.text):
            self.fail(t, "'%s' is not a valid %s" % (t.text, what))
        return t

    def doc(self):
        """The comment block right before the next declaration; a blank line between a comment
        and what follows detaches the comment (it documents nothing)."""
        lines = []
        while self.peek().kind == "comment":
            t = self.next()
            if t.blank_before:
                lines = []
            lines.append(t.text.rstrip())
        if lines and self.peek().blank_before:
            lines = []
        return "\n".join(lines).strip("\n")

    def parse(self):
        doc = self.doc()
        t = self.expect_word("'interface'")
        if t.text != "interface":
            self.fail(t, "expected 'interface', found '%s'" % t.text)
        name = self.expect_word("interface name", INTERFACE_NAME).text
        members = []
        seen = {}
        while True:
            member_doc = self.doc()
            t = self.peek()
            if t.kind == "eof":
                break
            member = self.member(member_doc)
            if member.name in seen:
                raise ParseError(member.line, member.column,
                                 "'%s' is defined twice (first at line %d)"
                                 % (member.name, seen[member.name]))
            seen[member.name] = member.line
            members.append(member)
        if not any(m.kind == "method" for m in members):
            self.fail(self.peek(), "the interface declares no method")
        interface = Interface(name, doc, members)
        check_references(interface)
        return interface

    def member(self, doc):
        t = self.expect_word("'type', 'method' or 'error'")
        if t.text not in ("type", "method", "error"):
            self.fail(t, "expected 'type', 'method' or 'error', found '%s'" % t.text)
        n = self.expect_word("%s name" % t.text, MEMBER_NAME)
        if t.text == "type":
            typedef = self.type_expression()
            if typedef.kind not in ("struct", "enum"):
                self.fail(n, "type %s must be a struct or an enum" % n.text)
            return Member("type", n.text, doc, n.line, n.column, type_=typedef)
        if t.text == "error":
            fields = self.struct_type()
            if fields.kind != "struct":
                self.fail(n, "error %s must have a struct of parameters" % n.text)
            return Member("error", n.text, doc, n.line, n.column, type_=fields)
        input_ = self.struct_type()
        if input_.kind != "struct":
            self.fail(n, "the input of method %s must be a struct" % n.text)
        self.expect_punct("->")
        output = self.struct_type()
        if output.kind != "struct":
            self.fail(n, "the output of method %s must be a struct" % n.text)
        return Member("method", n.text, doc, n.line, n.column, input_=input_, output=output)

    def struct_type(self):
        t = self.peek()
        if t.kind != "punct" or t.text != "(":
            self.fail(t, "expected '(', found %s" % describe(t))
        return self.type_expression()

    def type_expression(self):
        t = self.next()
        if t.kind == "punct" and t.text == "?":
            inner = self.type_expression()
            if inner.kind == "optional":
                self.fail(t, "'?' may not be applied twice")
            return Type("optional", inner=inner, line=t.line, column=t.column)
        if t.kind == "punct" and t.text == "[":
            k = self.next()
            if k.kind == "punct" and k.text == "]":
                return Type("array", inner=self.element(), line=t.line, column=t.column)
            if k.kind == "word" and k.text == "string":
                self.expect_punct("]")
                return Type("map", inner=self.element(), line=t.line, column=t.column)
            self.fail(k, "expected ']' or 'string]' after '[', found %s" % describe(k))
        if t.kind == "punct" and t.text == "(":
            return self.struct_or_enum(t)
        if t.kind == "word":
            if t.text in BUILTIN_TYPES:
                return Type("builtin", name=t.text, line=t.line, column=t.column)
            if MEMBER_NAME.fullmatch(t.text):
                return Type("named", name=t.text, line=t.line, column=t.column)
            self.fail(t, "'%s' is not a type" % t.text)
        self.fail(t, "expected a type, found %s" % describe(t))

    def element(self):
        """The element type of an array or map: anything but an optional (varlink has no
        arrays of optionals)."""
        t = self.peek()
        inner = self.type_expression()
        if inner.kind == "optional":
            self.fail(t, "an array or map element may not be optional")
        return inner

    def struct_or_enum(self, open_token):
        fields, values, names = [], [], {}
        kind = None
        while True:
            doc = self.doc()
            t = self.peek()
            if t.kind == "punct" and t.text == ")" and not fields and not values:
                self.next()
                break
            n = self.expect_word("field name", FIELD_NAME)
            if n.text in names:
                self.fail(n, "'%s' appears twice" % n.text)
            names[n.text] = True
            s = self.peek()
            this = "struct" if s.kind == "punct" and s.text == ":" else "enum"
            if kind and this != kind:
                self.fail(n, "a type mixes struct fields and enum values")
            kind = this
            if this == "struct":
                self.next()
                fields.append(Field(n.text, self.type_expression(), doc))
            else:
                values.append((n.text, doc))
            # A comment after the last entry, before ")", documents nothing.
            self.doc()
            sep = self.next()
            if sep.kind == "punct" and sep.text == ")":
                break
            if sep.kind != "punct" or sep.text != ",":
                self.fail(sep, "expected ',' or ')', found %s" % describe(sep))
        if kind == "enum":
            return Type("enum", values=values, line=open_token.line, column=open_token.column)
        return Type("struct", fields=fields, line=open_token.line, column=open_token.column)


def describe(token):
    if token.kind == "eof":
        return "the end of the file"
    if token.kind == "comment":
        return "a comment"
    return "'%s'" % token.text


def walk_types(t):
    yield t
    if t.inner:
        yield from walk_types(t.inner)
    for f in t.fields:
        yield from walk_types(f.type)


def check_references(interface):
    types = {m.name for m in interface.members if m.kind == "type"}
    for m in interface.members:
        roots = [m.type] if m.kind != "method" else [m.input, m.output]
        for root in roots:
            for t in walk_types(root):
                if t.kind == "named" and t.name not in types:
                    raise ParseError(t.line, t.column, "type %s is not defined" % t.name)


# --- Markdown ---

def anchor(kind, name):
    return "%s-%s" % (kind, name.lower())


def escape(text):
    """Prose from a comment, with the characters that Markdown or HTML would take as markup
    escaped. A line starting with "- " stays a list item."""
    return re.sub(r"([\\`*_\[\]<>])", r"\\\1", text)


def type_text(t):
    if t.kind in ("builtin", "named"):
        return t.name
    if t.kind == "optional":
        return "?" + type_text(t.inner)
    if t.kind == "array":
        return "[]" + type_text(t.inner)
    if t.kind == "map":
        return "[string]" + type_text(t.inner)
    if t.kind == "enum":
        return "(" + ", ".join(v for v, _ in t.values) + ")"
    return "(" + ", ".join("%s: %s" % (f.name, type_text(f.type)) for f in t.fields) + ")"


def type_cell(t):
    """The type as code, linked to the named type it refers to, if any."""
    code = "`%s`" % type_text(t).replace("|", "\\|")
    inner = t
    while inner.kind in ("optional", "array", "map"):
        inner = inner.inner
    if inner.kind == "named":
        return "[%s](#%s)" % (code, anchor("type", inner.name))
    return code


def cell(text):
    """A comment as one table cell: paragraphs joined, pipes escaped."""
    if not text:
        return ""
    lines = [l.strip() for l in text.split("\n")]
    out, para = [], []
    for l in lines:
        if l:
            para.append(l)
        elif para:
            out.append(" ".join(para))
            para = []
    if para:
        out.append(" ".join(para))
    return "<br><br>".join(escape(p).replace("|", "\\|") for p in out)


def field_table(fields, empty):
    if not fields:
        return [empty, ""]
    rows = ["| field | type | description |", "|---|---|---|"]
    for f in fields:
        rows.append("| `%s` | %s | %s |" % (f.name, type_cell(f.type), cell(f.doc)))
    return rows + [""]


def heading(level, kind, name, suffix=""):
    return ['<a id="%s"></a>' % anchor(kind, name), "",
            "%s %s%s" % ("#" * level, name, suffix), ""]


def paragraph(doc, errors=()):
    """A doc comment as Markdown. Comments are wrapped prose, so lines join into paragraphs;
    but a line that ends a sentence before one that starts a new one ("...stop it." then
    "Supports more: ...") was broken on purpose and keeps its break. The names of the
    interface's errors (a method's "Errors: ..." list) link to them."""
    if not doc:
        return []
    text = escape(doc)
    if errors:
        names = re.compile(r"\b(%s)\b" % "|".join(sorted(errors, key=len, reverse=True)))
        text = names.sub(lambda m: "[%s](#%s)" % (m.group(1), anchor("error", m.group(1))), text)
    lines = text.split("\n")
    for i in range(len(lines) - 1):
        if lines[i].endswith(".") and re.match(r"[A-Z]", lines[i + 1]):
            lines[i] += "\\"
    return ["\n".join(lines), ""]


def render(interface, source_name):
    out = ["# %s" % interface.name, ""]
    out += paragraph(interface.doc)
    out += ["*Generated from `%s`; the interface file is the reference, this page is a "
            "rendering of it.*" % source_name, ""]
    groups = [("method", "Methods"), ("type", "Types"), ("error", "Errors")]
    out += ["## Contents", ""]
    for kind, title in groups:
        names = [m.name for m in interface.members if m.kind == kind]
        if names:
            links = ", ".join("[%s](#%s)" % (n, anchor(kind, n)) for n in names)
            out.append("- %s: %s" % (title, links))
    out.append("")
    for kind, title in groups:
        members = [m for m in interface.members if m.kind == kind]
        if not members:
            continue
        out += ["## %s" % title, ""]
        for m in members:
            out += render_member(interface, m)
    return "\n".join(out).rstrip("\n") + "\n"


def render_member(interface, m):
    full = "%s.%s" % (interface.name, m.name)
    if m.kind == "method":
        out = heading(3, "method", m.name)
        out += ["```", "method %s%s -> %s" % (m.name, type_text(m.input), type_text(m.output)),
                "```", ""]
        out += paragraph(m.doc, [e.name for e in interface.members if e.kind == "error"])
        out += ["**Input**", ""] + field_table(m.input.fields, "No parameters.")
        out += ["**Output**", ""] + field_table(m.output.fields, "An empty reply.")
        return out
    if m.kind == "error":
        out = heading(3, "error", m.name)
        out += ["Error name: `%s`" % full, ""]
        out += paragraph(m.doc)
        return out + field_table(m.type.fields, "No parameters.")
    if m.type.kind == "enum":
        out = heading(3, "type", m.name, " (enum)")
        out += paragraph(m.doc)
        out += ["| value | description |", "|---|---|"]
        out += ["| `%s` | %s |" % (v, cell(d)) for v, d in m.type.values]
        return out + [""]
    out = heading(3, "type", m.name, " (struct)")
    out += paragraph(m.doc)
    return out + field_table(m.type.fields, "No fields.")


def write_output(path, text):
    if path in (None, "-"):
        sys.stdout.write(text)
        return
    # Whole or nothing: a failed run never leaves a half-written page behind.
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".varlink-to-md.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def main(argv):
    ap = argparse.ArgumentParser(description="Render a varlink interface file as Markdown.")
    ap.add_argument("input", help="the .varlink file")
    ap.add_argument("-o", "--output", help="the Markdown file to write (default: stdout)")
    args = ap.parse_args(argv)
    try:
        with open(args.input, encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as e:
        print("%s: %s" % (args.input, e), file=sys.stderr)
        return 1
    try:
        interface = Parser(text).parse()
    except ParseError as e:
        print("%s:%d:%d: %s" % (args.input, e.line, e.column, e.message), file=sys.stderr)
        return 1
    expected = os.path.basename(args.input)
    if expected.endswith(".varlink") and expected[:-len(".varlink")] != interface.name:
        print("%s:1:1: the file declares interface %s; its name should be %s.varlink"
              % (args.input, interface.name, interface.name), file=sys.stderr)
        return 1
    write_output(args.output, render(interface, os.path.basename(args.input)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
