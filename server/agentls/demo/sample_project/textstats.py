"""Small text statistics used by the demo project."""


def word_count(text: str) -> int:
    """Number of words in `text`, separated by any run of whitespace."""
    return len(text.split(" "))


def average_word_length(text: str) -> float:
    """Mean length of the words in `text`; 0.0 for text without words."""
    words = text.split()
    if not words:
        return 0.0
    return sum(len(w) for w in words) / len(words)
