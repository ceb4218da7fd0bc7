"""Checkpoints: every change the agent makes, by any tool, on record so it can be rewound
(`tracker.py` records, `recording.py` sees the changes, `timeline.py` reads them back,
`rewind.py` puts files back; the user's view: `docs/checkpoints.md`)."""
