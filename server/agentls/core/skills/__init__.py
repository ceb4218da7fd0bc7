"""Skills, in Claude Code's format: `<name>/SKILL.md` folders the model loads on demand with the
`Skill` tool (only their names and descriptions are in its requests until then) and the user runs
as `/name` commands. See `docs/extending.md`, "Skills"."""
