"""The tree walk behind `agentls.policy.shell.analyze`; the rules it applies are documented there."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from itertools import pairwise

from tree_sitter import Node

from agentls.policy.shell_danger import SAFE_ENV_VARS, SHELLS, SYSTEM_BIN_DIRS, inspect
from agentls.policy.shell_targets import read_targets, write_targets
from agentls.policy.shell_types import Redirect, ShellAnalysis, SimpleCommand
from agentls.policy.shell_words import WORDISH, Word, WordReader, parse_tree
from agentls.policy.shell_wrappers import program_name, strip_wrappers

MAX_LENGTH = 10_000
"""Longer commands always ask (Claude Code's limit); they are still analysed so deny rules can match."""
MAX_PARSE = 200_000
"""Longer input is not parsed at all and is unparsable."""
MAX_DEPTH = 4
"""How deep inline scripts (`bash -c "eval '…'"`) are followed before giving up as unparsable."""
MAX_NESTING = 256
"""Syntax nested deeper than this is unparsable (the walk is recursive)."""

_STATEMENTS = frozenset(
    {
        "program",
        "list",
        "pipeline",
        "subshell",
        "compound_statement",
        "do_group",
        "if_statement",
        "elif_clause",
        "else_clause",
        "while_statement",
        "for_statement",
        "c_style_for_statement",
        "case_statement",
        "case_item",
        "negated_command",
        "function_definition",
    }
)
_COMMAND_NODES = frozenset({"command", "declaration_command", "unset_command", "test_command"})
_RESERVED = frozenset(
    {"{", "}", "(", ")", "if", "then", "else", "elif", "fi", "do", "done", "case", "esac", "while", "until"}
    | {"for", "in", "select", "function", "[[", "]]", "!", ";;"}
)
"""A command "named" like this means tree-sitter misread the structure (`time { rm x; }`)."""
_REDIRECTS = frozenset({"file_redirect", "heredoc_redirect", "herestring_redirect"})
_EXPRESSIONS = frozenset(
    {
        "binary_expression",
        "unary_expression",
        "ternary_expression",
        "postfix_expression",
        "parenthesized_expression",
        "subscript",
        "test_operator",
        "regex",
        "extglob_pattern",
        "array",
        "heredoc_body",
    }
)
_WORD_LISTS = frozenset(
    {
        "command",
        "declaration_command",
        "unset_command",
        "file_redirect",
        "herestring_redirect",
        "for_statement",
    }
)
"""Nodes whose word children bash separates by blanks: touching words mean a misparse (`r''\\m`)."""
_WORD_LEVEL = WORDISH | {"command_name", "variable_assignment"}
_SIMPLE_EXPANSION = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*|[0-9@*#?$!-])")
_ASSIGNMENT_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\[[^\]]*\])?\+?=")
_BACKTICK_ESCAPE = re.compile(r"\\([\\$`])")
_INSIDE_WORD = frozenset(
    {"word", "number", "string", "string_content", "raw_string", "ansi_c_string", "concatenation"}
    | {"heredoc_body", "heredoc_content", "comment"}
)
_NOTE_LIMIT = 200
_CONTINUATION = re.compile(rb"(\\+)\n")
_WORD_BYTE = re.compile(rb"[^\s;&|()<>]")


@dataclass
class _Pending:
    """A simple command being collected; finished into `SimpleCommand`s once the walk is over."""

    raw: str
    origin: str
    kind: str = "command"
    words: list[Word] = field(default_factory=list)
    env: list[tuple[str, str, bool]] = field(default_factory=list)
    """`(name, text, literal)` per leading assignment."""
    redirects: list[Redirect] = field(default_factory=list)


def analyze_at(command: str, depth: int, origin: str) -> ShellAnalysis:
    """Analyse `command`; `depth` and `origin` say which inline script (`bash -c`, `eval`…) it came from."""
    walker = _Walker(command, depth, origin)
    if len(command) > MAX_PARSE:
        walker.problem(f"longer than {MAX_PARSE} characters; not parsed")
    else:
        try:
            walker.run()
        except RecursionError:
            walker.problem("nested too deeply to analyse")
    return ShellAnalysis(
        command=command,
        commands=tuple(walker.commands),
        unparsable=walker.unparsable,
        too_long=len(command) > MAX_LENGTH,
        has_substitution=walker.substitution,
        has_eval_like=walker.eval_like,
        has_expansion_in_command_name=walker.name_expansion,
        problems=tuple(dict.fromkeys(walker.notes)),
    )


class _Walker:
    def __init__(self, source: str, depth: int, origin: str) -> None:
        self.source = source
        self.depth = depth
        self.origins = [origin]
        self.pending: list[_Pending] = []
        self.commands: list[SimpleCommand] = []
        self.notes: list[str] = []
        self.unparsable = False
        self.substitution = False
        self.eval_like = False
        self.name_expansion = False
        self.visited: set[int] = set()
        self.stdin_scripts: list[str] = []
        """Here-document bodies and here-strings: code when a shell reads them."""
        self.reader = WordReader(self._substitution, self.problem)

    # -- bookkeeping ---------------------------------------------------------------------------
    def problem(self, message: str) -> None:
        self.unparsable = True
        self.note(f"unparsable: {message}")

    def note(self, message: str) -> None:
        self.notes.append(message if len(message) <= _NOTE_LIMIT else message[: _NOTE_LIMIT - 1] + "…")

    def _new(self, node: Node, kind: str = "command") -> _Pending:
        pending = _Pending(raw=_text(node), origin=self.origins[-1], kind=kind)
        self.pending.append(pending)
        return pending

    # -- the walk ------------------------------------------------------------------------------
    def run(self) -> None:
        self._check_characters()
        root = parse_tree(self.source).root_node
        if root.has_error:
            self.problem("syntax error (tree-sitter ERROR or MISSING node)")
        self._check_continuations(root)
        self._statement(root)
        self._check_tree(root)
        for pending in self.pending:
            self._finish(pending)
        if any(c.name in SHELLS for c in self.commands):
            for script in self.stdin_scripts:
                self._inline("here-document", script)
        self._check_cd()

    def _check_characters(self) -> None:
        bad = sorted({ch for ch in self.source if (ord(ch) < 32 and ch not in "\t\n") or ord(ch) == 127})
        if bad:
            self.problem(f"control characters {bad!r}")

    def _check_continuations(self, root: Node) -> None:
        data = self.source.encode("utf-8", "surrogateescape")
        for match in _CONTINUATION.finditer(data):
            if len(match.group(1)) % 2 == 0:
                continue
            start = match.end() - 2
            inside = root.descendant_for_byte_range(start, start + 2)
            if inside is not None and inside.type in _INSIDE_WORD:
                continue  # within a word or string: the word reader removes it as bash does
            before = data[start - 1 : start]
            after = data[match.end() : match.end() + 1]
            if _WORD_BYTE.fullmatch(before) and _WORD_BYTE.fullmatch(after):
                self.problem("a line continuation inside a word (bash joins the two parts)")

    def _check_tree(self, root: Node) -> None:
        """Every command node was visited, no two words touch (tree-sitter split a bash word), and the
        nesting stays within `MAX_NESTING` (left-nested `a && b && …` lists do not count)."""
        stack = [(root, 0)]
        too_deep = False
        while stack:
            node, depth = stack.pop()
            if depth > MAX_NESTING and not too_deep:
                too_deep = True
                self.problem(f"nested more than {MAX_NESTING} levels deep")
            if node.type in _COMMAND_NODES and node.id not in self.visited:
                self.problem(f"a command in a place this analysis does not read: {_text(node)!r}")
            if node.type in _WORD_LISTS:
                self._check_touching(node)
            if node.type == "command":
                self._check_one_line(node)
            if node.type == "simple_expansion" and not _SIMPLE_EXPANSION.fullmatch(_text(node)):
                self.problem(f"an expansion tree-sitter misread: {_text(node)!r}")
            stack.extend((c, depth if c.type == node.type == "list" else depth + 1) for c in node.children)

    def _check_touching(self, node: Node) -> None:
        """Bash needs a blank before a new word (or before a redirection's descriptor): `b'c'\\e` is one
        word, `a2>f` is `a2` and `>f`. Touching nodes there mean tree-sitter split a word."""
        parts = [c for c in node.children if c.is_named and c.type != "comment"]
        for left, right in pairwise(parts):
            if left.end_byte != right.start_byte:
                continue
            ends_in_word = left.type in _WORD_LEVEL or left.type in _REDIRECTS
            starts_word = right.type in _WORD_LEVEL
            starts_fd = right.type in _REDIRECTS and right.child_count > 0
            starts_fd = starts_fd and right.children[0].type == "file_descriptor"
            if (ends_in_word and starts_word) or (left.type in _WORD_LEVEL and starts_fd):
                self.problem(f"one bash word read as two: {_text(left)!r} {_text(right)!r}")

    def _check_one_line(self, node: Node) -> None:
        """A newline between two parts of one command ends it in bash; tree-sitter-bash sometimes
        reads the next line on as more arguments (`a | b | c` then `rm -rf X` on the next line
        became `c rm -rf X`), which would hide a command."""
        data = self.source.encode("utf-8", "surrogateescape")
        for left, right in pairwise(node.children):
            gap = data[left.end_byte : right.start_byte]
            if b"\n" in gap.replace(b"\\\n", b""):
                self.problem(f"two lines read as one command: {_text(node)!r}")
                return

    def _substitution(self, node: Node) -> None:
        self.substitution = True
        text = _text(node)
        self.note(f"command or process substitution: {text}")
        self.origins.append("substitution")
        for child in node.named_children:
            self._statement(child)
        self.origins.pop()
        if text.startswith("`") and "\\" in text:
            # Inside backticks bash first turns \\ \$ \` into \ $ `, then parses: `r\\m` runs rm.
            self._inline("substitution", _BACKTICK_ESCAPE.sub(r"\1", text[1:-1]))

    def _statement(self, node: Node) -> list[_Pending]:
        kind = node.type
        if kind == "command":
            return [self._command(node)]
        if kind == "redirected_statement":
            return self._redirected(node)
        if kind in ("declaration_command", "unset_command"):
            return [self._declaration(node)]
        if kind == "test_command":
            return [self._test(node)]
        if kind in ("variable_assignment", "variable_assignments"):
            pending = self._new(node, kind="assignment")
            for child in [node] if kind == "variable_assignment" else node.named_children:
                pending.env.append(self._assignment(child))
            return [pending]
        if kind == "compound_statement" and node.child_count and node.children[0].type == "((":
            pending = self._new(node, kind="arithmetic")
            self.reader.scan(node)
            pending.words = [Word("(("), Word(_text(node)[2:-2].strip(), dynamic=True), Word("))")]
            return [pending]
        if kind in _STATEMENTS or kind == "ERROR":
            return self._container(node)
        if kind in _REDIRECTS:  # `$(<file)`: a redirection with no command
            pending = self._new(node)
            self._redirect(node, [pending], None)
            return [pending]
        if kind == "comment":
            return []
        self.problem(f"unknown statement `{kind}`: {_text(node)!r}")
        self.reader.scan(node)
        return []

    def _container(self, node: Node) -> list[_Pending]:
        direct: list[_Pending] = []
        loose: list[Word] = []
        arithmetic_for = node.type == "c_style_for_statement"
        for child in _flatten(node):
            kind = child.type
            if kind == "comment" or kind == "variable_name":
                continue
            if node.type == "ERROR" and kind in WORDISH:
                loose.append(self.reader.read(child))  # best effort, so deny rules still see the words
            elif (
                kind in WORDISH
                or kind in _EXPRESSIONS
                or (arithmetic_for and kind not in ("do_group", "compound_statement"))
            ):
                self.reader.scan(child)  # words and arithmetic only run what they substitute
            elif node.type == "ERROR" and kind not in _STATEMENTS and kind not in _COMMAND_NODES:
                self.reader.scan(child)  # already unparsable; only look for commands to report
            else:
                direct.extend(self._statement(child))
        if loose:
            pending = self._new(node)
            pending.words = loose
            direct.append(pending)
        return direct

    def _command(self, node: Node) -> _Pending:
        self.visited.add(node.id)
        pending = self._new(node)
        for child in node.children:
            kind = child.type
            if kind == "variable_assignment":
                pending.env.append(self._assignment(child))
            elif kind == "command_name":
                if child.child_count != 1:
                    self.problem(f"unexpected command name {_text(child)!r}")
                if _ASSIGNMENT_WORD.match(_text(child)):
                    self.problem(f"an assignment read as a command name: {_text(child)!r}")
                pending.words.extend(self.reader.read(part) for part in child.children)
            elif kind in WORDISH:
                pending.words.append(self.reader.read(child))
            elif kind in _REDIRECTS:
                self._redirect(child, [pending], pending)
            elif kind in _STATEMENTS:
                # `time ( rm x )`: tree-sitter nests the group in the command; report what runs in it.
                self.problem(f"a compound command inside a command: {_text(node)!r}")
                self._statement(child)
            elif kind != "comment":
                self.problem(f"unexpected `{kind}` in a command: {_text(node)!r}")
        return pending

    def _assignment(self, node: Node) -> tuple[str, str, bool]:
        if node.type != "variable_assignment":
            self.problem(f"unexpected `{node.type}` among assignments")
            return ("", _text(node), False)
        name_node = node.child_by_field_name("name")
        value_node = node.child_by_field_name("value")
        name = _text(name_node) if name_node is not None else ""
        if name_node is not None:
            self.reader.scan(name_node)
        operator = "+=" if any(c.type == "+=" for c in node.children) else "="
        if value_node is None:
            return (name, f"{name}{operator}", True)
        if value_node.type in WORDISH:
            value = self.reader.read(value_node)
            return (name, f"{name}{operator}{value.value}", value.literal)
        self.reader.scan(value_node)
        return (name, f"{name}{operator}{_text(value_node)}", False)

    def _redirected(self, node: Node) -> list[_Pending]:
        body = node.child_by_field_name("body")
        direct: list[_Pending] = []
        owners: list[_Pending] = []
        if body is not None and body.type == "pipeline":
            for stage in body.named_children:
                owners = self._statement(stage) if stage.type != "comment" else owners
                direct.extend(owners)
        elif body is not None:
            direct = owners = self._statement(body)
        if not direct:
            direct = owners = [self._new(node)]
        arg_owner = owners[-1] if body is None or body.type in ("command", "pipeline") else None
        for child in node.children:
            if child.type in _REDIRECTS:
                self._redirect(child, owners, arg_owner)
            elif child.is_named and child != body and child.type != "comment":
                self.problem(f"unexpected `{child.type}` in a redirection: {_text(node)!r}")
        return direct

    def _redirect(self, node: Node, owners: list[_Pending], arg_owner: _Pending | None) -> None:
        if node.type == "herestring_redirect":
            words = [self.reader.read(c) for c in node.named_children if c.type in WORDISH]
            target = words[0] if words else Word("")
            _attach(owners, Redirect("<<<", target.value, target.literal))
            self.stdin_scripts.append(target.value)
            return
        if node.type == "heredoc_redirect":
            self._heredoc(node, owners, arg_owner)
            return
        descriptor, operator, targets = "", "", []
        for child in node.children:
            if child.type == "file_descriptor":
                descriptor = _text(child)
            elif not child.is_named:
                operator += child.type
            elif child.type in WORDISH:
                targets.append(self.reader.read(child))
            else:
                self.problem(f"unexpected `{child.type}` in a redirection: {_text(node)!r}")
        if operator.endswith("&-"):
            targets.insert(0, Word(""))  # `>&-` closes a descriptor; the words after it are arguments
        first = targets[0] if targets else Word("")
        if operator.endswith("&") and first.value.startswith("-") and first.value != "-":
            self.problem(f"bash reads `{operator}-` and a separate word here: {_text(node)!r}")
        _attach(owners, Redirect(descriptor + operator, first.value, first.literal))
        if len(targets) > 1:
            # `echo a > f b`: bash gives `b` to the command; tree-sitter puts it in the redirection.
            if arg_owner is None:
                self.problem(f"words after a redirection of a compound command: {_text(node)!r}")
            else:
                arg_owner.words.extend(targets[1:])

    def _heredoc(self, node: Node, owners: list[_Pending], arg_owner: _Pending | None) -> None:
        operator, delimiter = "<<", ""
        for child in node.children:
            kind = child.type
            if kind == "heredoc_start":
                delimiter = self.reader.read(child).value if child.named_child_count else _text(child)
                delimiter = delimiter.strip("'\"").replace("\\", "")
            elif kind in ("<<", "<<-"):
                operator = kind
            elif kind == "heredoc_body":
                self.reader.scan(child)
                self.stdin_scripts.append(_text(child))
            elif kind in _REDIRECTS:
                self._redirect(child, owners, arg_owner)
            elif kind in _STATEMENTS or kind in _COMMAND_NODES or kind == "redirected_statement":
                self._statement(child)  # `cat <<EOF && rm x`: a command after the operator
            elif child.is_named and kind not in ("heredoc_end", "heredoc_content"):
                self.problem(f"unexpected `{kind}` in a here-document: {_text(node)!r}")
        _attach(owners, Redirect(operator, delimiter))

    def _declaration(self, node: Node) -> _Pending:
        self.visited.add(node.id)
        pending = self._new(node, kind="declaration")
        for child in node.children:
            if child.type == "variable_assignment":
                _, text, literal = self._assignment(child)
                pending.words.append(Word(text, dynamic=not literal))
            elif child.type in WORDISH:
                pending.words.append(self.reader.read(child))
            elif not child.is_named:
                pending.words.append(Word(child.type))
            elif child.type in _REDIRECTS:
                self._redirect(child, [pending], pending)
            elif child.type != "comment":
                self.problem(f"unexpected `{child.type}` in {_text(node)!r}")
        return pending

    def _test(self, node: Node) -> _Pending:
        self.visited.add(node.id)
        pending = self._new(node, kind="test")
        single = node.child_count > 0 and node.children[0].type == "["
        self._test_words(node, pending, single)
        return pending

    def _test_words(self, node: Node, pending: _Pending, single: bool) -> None:
        for child in node.children:
            kind = child.type
            if kind in WORDISH:
                pending.words.append(self.reader.read(child))
            elif kind in ("test_operator", "regex", "extglob_pattern"):
                self.reader.scan(child)
                pending.words.append(Word(_text(child)))
            elif kind in _EXPRESSIONS:
                self._test_words(child, pending, single)
            elif not child.is_named:
                if single and kind in ("<", ">", ">>", "<<"):
                    self.problem(f"`{kind}` inside [ ] is a redirection to bash: {_text(node)!r}")
                pending.words.append(Word(kind))
            elif kind != "comment":
                self.problem(f"unexpected `{kind}` in a test: {_text(node)!r}")

    # -- finishing -----------------------------------------------------------------------------
    def _finish(self, pending: _Pending) -> None:
        words = pending.words
        env = [text for _, text, _ in pending.env]
        wrappers: list[str] = []
        reasons: list[str] = []
        eval_reasons: list[str] = []
        scripts: list[tuple[str, str]] = []
        nested: list[tuple[str, list[Word]]] = []
        if pending.kind == "command":
            stripped = strip_wrappers(words)
            words, wrappers = stripped.words, stripped.wrappers
            env.extend(stripped.env)
            reasons.extend(stripped.reasons)
            eval_reasons.extend(stripped.eval_reasons)
            scripts.extend(stripped.scripts)
            for problem in stripped.problems:
                self.problem(problem)
        argv: list[str] = [w.value for w in words]
        if words:
            argv[0], head_reasons = self._head(pending, words[0])
            reasons.extend(head_reasons)
            if pending.kind in ("command", "declaration"):
                found = inspect(argv[0], words)
                reasons.extend(found.reasons)
                eval_reasons.extend(found.eval_reasons)
                scripts.extend(found.scripts)
                nested.extend(found.nested)
            reasons.extend(_env_reasons(pending.env, stripped_env=env[len(pending.env) :]))
        elif pending.env:
            reasons.append("an assignment changes the shell state of later commands (env poisoning)")
        reasons.extend(_redirect_reasons(pending.redirects))
        if eval_reasons:
            self.eval_like = True
            for reason in eval_reasons:
                self.note(f"eval-like: {reason}")
        self.commands.append(
            SimpleCommand(
                argv=tuple(argv),
                raw=pending.raw,
                env=tuple(env),
                redirects=tuple(pending.redirects),
                wrappers_stripped=tuple(wrappers),
                dangerous_reasons=tuple(dict.fromkeys(reasons + eval_reasons)),
                dynamic_args=any(w.dynamic for w in words[1:]),
                glob_args=any(w.glob for w in words[1:]),
                origin=pending.origin,
            )
        )
        for origin, nested_words in nested:
            self._finish(
                _Pending(raw=" ".join(w.value for w in nested_words), origin=origin, words=nested_words)
            )
        for origin, script in scripts:
            self._inline(origin, script)

    def _head(self, pending: _Pending, head: Word) -> tuple[str, list[str]]:
        """The command name used for matching, and what is wrong with it."""
        if pending.kind == "command" and not head.quoted and head.value in _RESERVED:
            self.problem(f"a reserved word where a command name should be: {pending.raw!r}")
        if not head.literal:
            self.name_expansion = True
            self.note(f"the command name is an expansion or glob: {head.value}")
            return head.value, []
        if head.value.startswith("/"):
            if head.value.rsplit("/", 1)[0] not in SYSTEM_BIN_DIRS:
                return program_name(head.value), [f"runs {head.value}, outside the system binary directories"]
            return program_name(head.value), []
        if head.tilde:
            return head.value, [f"runs {head.value}, a program under a home directory"]
        return head.value, []

    def _inline(self, origin: str, script: str) -> None:
        if self.depth >= MAX_DEPTH:
            self.problem(f"inline scripts nested more than {MAX_DEPTH} deep")
            return
        inner = analyze_at(script, self.depth + 1, origin)
        self.commands.extend(inner.commands)
        self.unparsable |= inner.unparsable
        self.substitution |= inner.has_substitution
        self.eval_like |= inner.has_eval_like
        self.name_expansion |= inner.has_expansion_in_command_name
        for problem in inner.problems:
            self.note(f"{origin}: {problem}")

    def _check_cd(self) -> None:
        names = [c.name for c in self.commands]
        moved = any(n in ("cd", "pushd", "popd") for n in names)
        if not moved:
            return
        seen_cd = False
        for i, cmd in enumerate(self.commands):
            extra: list[str] = []
            if cmd.name == "git":
                extra.append("cd combined with git: the other directory's hooks and config would run")
            if seen_cd and any(
                not t.startswith(("/", "~")) for t in (*write_targets(cmd), *read_targets(cmd))
            ):
                extra.append("a relative path after cd: its directory is not known")
            if extra:
                self.commands[i] = replace(
                    cmd, dangerous_reasons=tuple(dict.fromkeys(cmd.dangerous_reasons + tuple(extra)))
                )
            seen_cd = seen_cd or cmd.name in ("cd", "pushd", "popd")


def _env_reasons(prefix: list[tuple[str, str, bool]], stripped_env: list[str]) -> list[str]:
    reasons = [
        f"leading assignment {text!r} can change what the command runs"
        for name, text, literal in prefix
        if name not in SAFE_ENV_VARS or not literal
    ]
    reasons.extend(
        f"env assignment {text!r} can change what the command runs"
        for text in stripped_env
        if text.split("=", 1)[0] not in SAFE_ENV_VARS
    )
    return reasons


def _flatten(node: Node) -> list[Node]:
    """Named children, with nested lists unrolled: `a && b && c` is left-nested, 60+ levels deep."""
    out: list[Node] = []
    stack = list(reversed(node.named_children))
    while stack:
        child = stack.pop()
        if child.type == "list" and node.type in ("list", "program"):
            stack.extend(reversed(child.named_children))
        else:
            out.append(child)
    return out


def _redirect_reasons(redirects: list[Redirect]) -> list[str]:
    reasons: list[str] = []
    for redirect in redirects:
        target = redirect.target
        if not redirect.literal:
            reasons.append(f"redirect target {target!r} is not a literal path")
        elif target.startswith("~") and target != "~" and not target.startswith("~/"):
            reasons.append(f"redirect target {target!r} is under another user's home")
    return reasons


def _attach(owners: list[_Pending], redirect: Redirect) -> None:
    for owner in owners:
        owner.redirects.append(redirect)


def _text(node: Node) -> str:
    raw = node.text
    return raw.decode("utf-8", "surrogateescape") if raw is not None else ""
