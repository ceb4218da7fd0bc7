"""The offline demo: a sample project with a failing test, and a scripted model that fixes it."""
